"""URLs of the desk pages (namespace "desk")."""

from django.urls import path

from tugi.desk import views

app_name = "desk"
urlpatterns = [
    # The portal: any signed-in user asks for help and follows their own cases.
    path("help/", views.portal, name="portal"),
    path("help/new/", views.case_new, name="case_new"),
    path("help/modules/", views.module_options, name="module_options"),
    path("help/cases/<int:pk>/", views.my_case, name="my_case"),
    path("help/cases/<int:pk>/message/", views.my_case_message, name="my_case_message"),
    path("help/cases/<int:pk>/rate/", views.my_case_rate, name="my_case_rate"),
    # The one-click rating link of the resolution mail: works without signing in.
    path("rate/<str:token>/", views.rate_token, name="rate_token"),
    # The desk: the queue and the case page with its panels.
    path("cases/", views.queue, name="queue"),
    path("cases/new/", views.desk_case_new, name="case_create"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/template/", views.template_text, name="template_text"),
    path("cases/<int:pk>/reply/", views.case_reply, name="case_reply"),
    path("cases/<int:pk>/note/", views.case_note, name="case_note"),
    path("cases/<int:pk>/take/", views.case_take, name="case_take"),
    path("cases/<int:pk>/assign/", views.case_assign, name="case_assign"),
    path("cases/<int:pk>/status/", views.case_status, name="case_status"),
    path("cases/<int:pk>/priority/", views.case_priority, name="case_priority"),
    path("cases/<int:pk>/classify/", views.case_classify, name="case_classify"),
    path("cases/<int:pk>/requester/", views.case_requester, name="case_requester"),
    path("cases/<int:pk>/tags/", views.case_tags, name="case_tags"),
    path("cases/<int:pk>/time/", views.case_time, name="case_time"),
    path("cases/<int:pk>/escalate/", views.case_escalate, name="case_escalate"),
    path(
        "cases/<int:pk>/escalations/<int:escalation_pk>/reference/",
        views.escalation_reference,
        name="escalation_reference",
    ),
    path(
        "cases/<int:pk>/escalations/<int:escalation_pk>/close/",
        views.escalation_close,
        name="escalation_close",
    ),
    path("cases/<int:pk>/resolve/", views.case_resolve, name="case_resolve"),
    path("cases/<int:pk>/close/", views.case_close, name="case_close"),
    path("cases/<int:pk>/reopen/", views.case_reopen, name="case_reopen"),
    path("cases/<int:pk>/parent/", views.case_parent, name="case_parent"),
    path("cases/<int:pk>/duplicate/", views.case_duplicate, name="case_duplicate"),
    path("cases/<int:pk>/merge/", views.case_merge, name="case_merge"),
    path("attachments/<int:pk>/", views.attachment, name="attachment"),
    # Desk settings.
    path("settings/", views.settings_home, name="settings"),
    path("settings/queues/new/", views.queue_create, name="queue_create"),
    path("settings/queues/<int:pk>/", views.queue_edit, name="queue_edit"),
    path("settings/sla/new/", views.sla_policy_create, name="sla_policy_create"),
    path("settings/sla/<int:pk>/", views.sla_policy_edit, name="sla_policy_edit"),
    path("settings/routing/new/", views.routing_rule_create, name="routing_rule_create"),
    path("settings/routing/<int:pk>/", views.routing_rule_edit, name="routing_rule_edit"),
    path("settings/routing/<int:pk>/move/", views.routing_rule_move, name="routing_rule_move"),
    path("settings/templates/new/", views.reply_template_create, name="reply_template_create"),
    path("settings/templates/<int:pk>/", views.reply_template_edit, name="reply_template_edit"),
]
