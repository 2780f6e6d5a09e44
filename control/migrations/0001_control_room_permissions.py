# The control room's permissions (control.models.ControlRoom: no table).

from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
    ]

    operations = [
        migrations.CreateModel(
            name='ControlRoom',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
            ],
            options={
                'verbose_name': 'control room',
                'permissions': [('view_operations', "Can see services' operations, their policies and health, and dry-run the playground"), ('change_policies', 'Can change operation policies'), ('view_approvals', 'Can see the calls that wait for approval'), ('decide_approvals', 'Can approve or reject calls that wait for approval'), ('run_playground', 'Can run the playground for real (the calls are sent)')],
                'managed': False,
                'default_permissions': (),
            },
        ),
    ]
