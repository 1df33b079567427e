-- Count and silence rules may be grouped by where events come from: each
-- environment, organization or app on its own.
alter table alert_rules drop constraint alert_rules_group_by_check,
    add constraint alert_rules_group_by_check check (group_by in ('user', 'ip', 'environment', 'organization', 'app'));
