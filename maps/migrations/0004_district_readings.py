# A reading (kana) and a romanised name for each district, made from the name where the data
# had none (disaster/core/readings.py), and marked as made until an administrator checks it.

from django.db import migrations, models

from disaster.core import readings


def fill_readings(apps, schema_editor):
    District = apps.get_model("maps", "District")
    for district in District.objects.filter(models.Q(kana="") | models.Q(name_en="")):
        changed = readings.fill(district)
        district.save(update_fields=changed)


class Migration(migrations.Migration):

    dependencies = [
        ("maps", "0003_district_code_population"),
    ]

    operations = [
        migrations.AddField(
            model_name="district",
            name="kana",
            field=models.CharField(blank=True, max_length=100, verbose_name="名称（カナ）"),
        ),
        migrations.AddField(
            model_name="district",
            name="readings_generated_from",
            field=models.CharField(
                blank=True,
                max_length=100,
                verbose_name="カナ・英字を自動生成した名称（空: 出典または確認済み）",
            ),
        ),
        migrations.RunPython(fill_readings, migrations.RunPython.noop),
    ]
