-- Reminders and staff notices waiting to go out (mend_hub.notify): filled from the hub's own
-- events (ReminderQueued, ReminderCancelled, StaffNotified) and settled by the deliverer. Ids,
-- codes and times only: the address is opened from the person's sealed contact route when the
-- reminder is sent, and what is sent says nothing of the case.
CREATE TABLE IF NOT EXISTS {schema}.notify_outbox (
    item_id         uuid        PRIMARY KEY,  -- the reminder's or the notice's id
    kind            text        NOT NULL CHECK (kind IN ('reminder', 'notice')),
    case_id         text        NOT NULL,
    agency          text        NOT NULL,
    recipient_id    text        NOT NULL,
    topic           text        NOT NULL,     -- the reminder's kind or the notice's reason
    due_at          timestamptz NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sent', 'cancelled', 'withheld')),
    cause_event_id  uuid,                     -- what cancelled it, or what the notice is about
    settled_at      timestamptz
);
CREATE INDEX IF NOT EXISTS notify_outbox_due ON {schema}.notify_outbox (status, due_at);
CREATE INDEX IF NOT EXISTS notify_outbox_recipient
    ON {schema}.notify_outbox (agency, recipient_id, kind);
GRANT SELECT, INSERT, UPDATE ON {schema}.notify_outbox TO mend_app;
