"""Outbound mail for the desk (being written: composes and sends a case message over SMTP)."""


def queue_message(message_pk: int) -> None:
    """Send the mail for a stored Message (a reply to the requester or a mail to a party).

    Called by the desk actions on commit. Placeholder until the mail module lands.
    """
