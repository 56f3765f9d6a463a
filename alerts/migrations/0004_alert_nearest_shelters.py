from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("alerts", "0003_line_conversations"),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="nearest_shelters",
            field=models.JSONField(blank=True, default=dict, verbose_name="地区ごとの最寄り避難所"),
        ),
    ]
