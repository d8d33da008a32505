import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("images_app", "0003_usage_watcher_retention")]

    operations = [
        migrations.CreateModel(
            name="Inventory",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("version", models.PositiveBigIntegerField(default=0)),
                ("images", models.BinaryField(default=b"")),
                ("containers", models.BinaryField(default=b"")),
                ("image_count", models.PositiveIntegerField(default=0)),
                ("container_count", models.PositiveIntegerField(default=0)),
                ("refreshed_at", models.DateTimeField(blank=True, help_text="Last full read of both lists", null=True)),
                (
                    "applied_at",
                    models.DateTimeField(blank=True, help_text="When it last matched every event seen", null=True),
                ),
                (
                    "pending_since",
                    models.DateTimeField(blank=True, help_text="An event seen, not yet applied", null=True),
                ),
                (
                    "heartbeat_at",
                    models.DateTimeField(blank=True, help_text="Its keeper was alive and connected", null=True),
                ),
                (
                    "last_event_at",
                    models.DateTimeField(blank=True, help_text="Engine time of the last event applied", null=True),
                ),
                (
                    "keeper",
                    models.CharField(blank=True, help_text="host:pid of the process keeping it", max_length=200),
                ),
                (
                    "environment",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="inventory",
                        to="images_app.environment",
                    ),
                ),
            ],
        ),
    ]
