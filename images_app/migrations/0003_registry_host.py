"""Registry.host: the normalised host[:port] of each registry, unique, filled from `url` for existing rows."""

from django.db import migrations, models


def fill_hosts(apps, schema_editor):  # noqa: ANN001, ANN201
    # The same rule the model's save() applies; historical models have no custom save().
    from images_app.registry_client import registry_host_of

    Registry = apps.get_model("images_app", "Registry")
    seen = set()
    for registry in Registry.objects.order_by("pk"):
        host = registry_host_of(registry.url)
        if host in seen:
            host = None  # a second row for one host (older forms allowed it): the first keeps the host
        if host is not None:
            seen.add(host)
        Registry.objects.filter(pk=registry.pk).update(host=host)


class Migration(migrations.Migration):

    dependencies = [
        ("images_app", "0002_audit_anchor_and_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="registry",
            name="host",
            field=models.CharField(blank=True, editable=False, max_length=300, null=True),
        ),
        migrations.RunPython(fill_hosts, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="registry",
            name="host",
            field=models.CharField(blank=True, editable=False, max_length=300, null=True, unique=True),
        ),
    ]
