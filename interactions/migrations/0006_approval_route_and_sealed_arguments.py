# What an approval checks before it sends (method, path, origin, spec, arguments), and secret arguments kept encrypted.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('interactions', '0005_servicecall_sources'),
    ]

    operations = [
        migrations.AddField(
            model_name='pendingapproval',
            name='arguments_digest',
            field=models.CharField(blank=True, default='', help_text='SHA-256 of the arguments as held.', max_length=64),
        ),
        migrations.AddField(
            model_name='pendingapproval',
            name='origin',
            field=models.CharField(blank=True, default='', help_text='Where the call goes (scheme://host:port).', max_length=300),
        ),
        migrations.AddField(
            model_name='pendingapproval',
            name='path',
            field=models.CharField(blank=True, default='', help_text="The operation's path template.", max_length=2000),
        ),
        migrations.AddField(
            model_name='pendingapproval',
            name='sealed_arguments',
            field=models.BinaryField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='pendingapproval',
            name='spec_hash',
            field=models.CharField(blank=True, default='', help_text="The spec's hash when the call was held.", max_length=64),
        ),
        migrations.AlterField(
            model_name='pendingapproval',
            name='arguments',
            field=models.JSONField(default=dict, help_text="Validated against the operation's schema when asked; secret ones shown as [redacted]."),
        ),
        migrations.AlterField(
            model_name='pendingapproval',
            name='state',
            field=models.CharField(choices=[('pending', 'Pending'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('expired', 'Expired'), ('changed', 'Changed')], default='pending', max_length=10),
        ),
    ]
