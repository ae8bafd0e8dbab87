"""Pages of the access app, one module per area (see each module)."""

from tugi.access.views.catalogue import role_detail, sod_rule_detail, system_detail, system_list
from tugi.access.views.compliance import compliance, compliance_evaluate
from tugi.access.views.person_access import explain, grant_entitled, my_access, person_access
from tugi.access.views.records import (
    account_close,
    account_detail,
    grant_detail,
    grant_end,
    grant_resume,
    grant_suspend,
)
from tugi.access.views.requests import (
    approvals,
    fulfilment,
    item_fulfil,
    my_requests,
    request_cancel,
    request_create,
    request_decide,
    request_detail,
    request_resubmit,
)

__all__ = [
    "account_close",
    "account_detail",
    "approvals",
    "compliance",
    "compliance_evaluate",
    "explain",
    "fulfilment",
    "grant_detail",
    "grant_end",
    "grant_entitled",
    "grant_resume",
    "grant_suspend",
    "item_fulfil",
    "my_access",
    "my_requests",
    "person_access",
    "request_cancel",
    "request_create",
    "request_decide",
    "request_detail",
    "request_resubmit",
    "role_detail",
    "sod_rule_detail",
    "system_detail",
    "system_list",
]
