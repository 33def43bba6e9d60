"""The accounts domain's queue task: sending a mail (sign-up verification, password reset)."""

from __future__ import annotations

from pomona.accounts.mail import Mail, send
from pomona.queue.service import Queue, QueuedTask


def register(queue: Queue) -> QueuedTask[[str, str, str]]:
    settings = queue.settings

    # Retried by the queue when the SMTP server is away or refuses for a while. A mail is sent
    # at least once: a worker lost after the server took it sends it again, which is harmless
    # for a link (either copy works).
    def send_mail(to: str, subject: str, body: str) -> None:
        queue.runtime.run(send(settings, Mail(to, subject, body)))

    return queue.task("accounts.mail", send_mail)
