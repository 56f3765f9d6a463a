"""Each delivery keeps its recipient's district, filled in for the deliveries made before."""

import django.db.models.deletion
from django.db import migrations, models

# The district rule of alerts.delivery.targeting.district_sql, as it stood here.
BACKFILL = """
UPDATE alerts_delivery d SET district_id = coalesce(
    (SELECT dist.id FROM maps_district dist
      WHERE s.home IS NOT NULL AND ST_Intersects(dist.area, s.home)
      ORDER BY dist.id LIMIT 1),
    (SELECT min(m.district_id) FROM alerts_subscriber_districts m
      WHERE m.subscriber_id = s.id))
FROM alerts_subscriber s WHERE s.id = d.subscriber_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0010_delivery_queue_index"),
        ("maps", "0004_district_readings"),
    ]

    operations = [
        migrations.AddField(
            model_name="delivery",
            name="district",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="maps.district",
                verbose_name="地区",
            ),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
