"""E-mail in (IMAP) and out (SMTP) for the desk."""
