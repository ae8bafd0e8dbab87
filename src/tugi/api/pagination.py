from rest_framework.pagination import CursorPagination


class KeysetPagination(CursorPagination):
    ordering = "id"
