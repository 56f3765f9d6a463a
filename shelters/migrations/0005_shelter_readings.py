# Shelters' readings and romanised names, made from the name where the open data had none
# (disaster/core/readings.py), and marked as made until an administrator checks them.

from django.db import migrations, models

from disaster.core import readings


def fill_readings(apps, schema_editor):
    Shelter = apps.get_model("shelters", "Shelter")
    for shelter in Shelter.objects.filter(models.Q(kana="") | models.Q(name_en="")):
        changed = readings.fill(shelter)
        shelter.save(update_fields=changed)


class Migration(migrations.Migration):

    dependencies = [
        ('shelters', '0004_headcount_observed_needs_elsewhere'),
    ]

    operations = [
        migrations.AddField(
            model_name='shelter',
            name='readings_generated_from',
            field=models.CharField(blank=True, max_length=200, verbose_name='カナ・英字を自動生成した名称（空: 出典または確認済み）'),
        ),
        migrations.RunPython(fill_readings, migrations.RunPython.noop),
    ]
