"""The hub: the records a restorative justice hub keeps about its own people (issue 16).

The core (this package's skeleton files) keeps agencies, staff and allocations. Other parts
live in sub-packages (`signin/`, `people/`) and join the app the same way:

- **Routes**: a module with `mount(app, runtime, service_of)` (see `api.mount`), listed in
  `app.PARTS`. `mount` runs before the app starts: include a router, and add the part's own
  projections (`runtime.project`), subscriptions and start hooks (`runtime.on_start`) there.
  `service_of()` is the core's `HubService` once the runtime has started.
- **Who is who**, read from the hub's own events (never a projection, so never behind):
  `await hub.standing(person_id)` -> `commands.Standing(person_id, agency_id, role, active,
  agency_active)` or None if never enrolled; `await hub.active_staff(agency_id, person_id)` ->
  the standing only if they are active staff of that agency and the agency is onboarded and
  not suspended, else None; `await hub.agency(agency_id)` -> `domain.AgencyState` (`onboarded`,
  `active`, `sign_in`, `keys` with `retired_at` and `active_at(moment)`,
  `identity_provider`); `await hub.cases_of(person_id)` -> the cases allocated to them now.
- **Who may**: `access.authorize(identity, action, agency_id, person_id=...)` over
  `access.POLICY`; a part keeps its own rules in its own module,
  `Policy([*access.POLICY.rules, ...])`.
- **Tables**: a part's migrations go in `mend_hub/migrations/` numbered in its own range
  (`01NN_signin_*.sql`, `02NN_people_*.sql`), so they never collide with the core's `00NN`.
"""
