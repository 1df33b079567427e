-- Scopes fail closed: an empty list of environments or organizations now
-- allows nothing, and `*` allows every value. A list left empty beside a
-- restricted one meant "any" until now and says so explicitly from here on;
-- a viewer or export key with both lists empty, which read everything, now
-- reads nothing until an administrator gives it a scope. Admins and auditors
-- read everything whatever their lists.
update console_users set organizations = '{*}'
where role = 'viewer' and cardinality(organizations) = 0 and cardinality(environments) > 0;
update console_users set environments = '{*}'
where role = 'viewer' and cardinality(environments) = 0 and cardinality(organizations) > 0;
update console_users set environments = '{*}', organizations = '{*}' where role <> 'viewer';

update api_keys set organizations = '{*}'
where kind = 'export' and cardinality(organizations) = 0 and cardinality(environments) > 0;
update api_keys set environments = '{*}'
where kind = 'export' and cardinality(environments) = 0 and cardinality(organizations) > 0;
