"""The groups "Operators" and "Approvers", with the control room's permissions.

Operators look after the services' operations: they see them, change their policies,
run the playground for real and see what waits for approval. Approvers decide the calls
that wait; they see the operations to judge them. Both may view the services' pages.
An admin adds users to them (or gives the permissions one by one); changing a group
later is an admin's edit, not a migration's."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUPS = {
    "Operators": [("control", "view_operations"), ("control", "change_policies"), ("control", "run_playground"),
                  ("control", "view_approvals"), ("registry", "view_service")],
    "Approvers": [("control", "view_approvals"), ("control", "decide_approvals"), ("control", "view_operations"),
                  ("registry", "view_service")],
}


def create_groups(apps, schema_editor):
    # Permissions are made after all migrations (post_migrate): make the ones needed now.
    for label in ("control", "registry"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in wanted:
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(GROUPS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("control", "0001_control_room_permissions"),
        ("registry", "0003_service_base_url_override"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
