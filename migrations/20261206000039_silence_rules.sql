-- A rule may fire when no event matches its view within its window: an
-- application that stopped sending its audit events.
alter table alert_rules drop constraint alert_rules_kind_check,
    add constraint alert_rules_kind_check check (kind in ('match', 'count', 'silence', 'service_down', 'certificate'));
