"""Services and the audit take an AuditContext (who, from where, how), not an HttpRequest; `request=` still works."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser

from images_app.models import AuditEvent
from images_app.services.audit import AuditContext, audit_record


def test_a_context_is_built_from_a_request_once_at_the_edge(rf, operator):
    request = rf.get("/", REMOTE_ADDR="::ffff:192.0.2.7")
    request.user = operator
    assert AuditContext.from_request(request) == AuditContext(user=operator, client_address="192.0.2.7")
    request.user = AnonymousUser()
    assert AuditContext.from_request(request, via="api") == AuditContext(client_address="192.0.2.7", via="api")
    assert AuditContext.from_request(None) == AuditContext()


def test_audit_record_takes_who_and_where_from_the_context(operator):
    event = audit_record(
        action="pull_requested", outcome="success", context=AuditContext(user=operator, client_address="198.51.100.4")
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert (stored.actor, stored.actor_name, stored.client_address) == (operator, operator.username, "198.51.100.4")


def test_a_context_without_a_user_is_the_system_and_its_via_is_recorded(db):
    event = audit_record(action="cleanup_expired", outcome="info", context=AuditContext(via="manage.py berth_user"))
    assert (event.actor, event.actor_name, event.client_address) == (None, "system", None)
    assert event.parameters == {"via": "manage.py berth_user"}


def test_the_request_spelling_records_exactly_what_its_context_would(rf, operator):
    request = rf.get("/", REMOTE_ADDR="203.0.113.5")
    request.user = operator
    old = audit_record(action="logout", outcome="success", request=request)
    new = audit_record(action="logout", outcome="success", context=AuditContext.from_request(request))
    fields = ("actor_id", "actor_name", "client_address", "parameters")
    assert [getattr(old, name) for name in fields] == [getattr(new, name) for name in fields]
