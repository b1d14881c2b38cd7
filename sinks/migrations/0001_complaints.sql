-- The current state of every complaint, its full event history, escalations, the
-- accountability ledger, private citizen contacts, and the sink's Kafka offsets.

CREATE TABLE complaint_current (
    complaint_id     text PRIMARY KEY,
    version          integer     NOT NULL,
    status           text        NOT NULL,
    channel          text        NOT NULL,
    category         text        NOT NULL,
    department       text        NOT NULL,
    district         text        NOT NULL,
    tehsil           text        NOT NULL,
    block            text        NOT NULL,
    level            smallint    NOT NULL,
    officer_id       text        NOT NULL,
    registered_at    timestamptz NOT NULL,
    assigned_at      timestamptz NOT NULL,
    due_at           timestamptz NOT NULL,
    escalations      integer     NOT NULL,
    transfers        integer     NOT NULL,
    reopenings       integer     NOT NULL,
    overdue_at_state boolean     NOT NULL,
    closed_at        timestamptz,
    close_reason     text,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX complaint_current_open ON complaint_current (level, department, district)
    WHERE status NOT IN ('closed', 'special_closed');

-- Append-only: one row per event, keyed by its id, so a replay adds nothing.
CREATE TABLE complaint_event (
    event_id       text PRIMARY KEY,
    complaint_id   text        NOT NULL,
    event_type     text        NOT NULL,
    occurred_at    timestamptz NOT NULL,
    payload        jsonb       NOT NULL,
    kafka_topic     text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL
);
CREATE INDEX complaint_event_by_complaint ON complaint_event (complaint_id, occurred_at);

CREATE TABLE escalation (
    event_id        text PRIMARY KEY,
    complaint_id    text        NOT NULL,
    cause           text        NOT NULL,
    department      text        NOT NULL,
    district        text        NOT NULL,
    from_level      smallint    NOT NULL,
    to_level        smallint    NOT NULL,
    from_officer    text        NOT NULL,
    to_officer      text        NOT NULL,
    previous_due_at timestamptz NOT NULL,
    due_at          timestamptz NOT NULL,
    occurred_at     timestamptz NOT NULL,
    overdue_seconds integer     NOT NULL
);
CREATE INDEX escalation_by_time ON escalation (occurred_at);

-- Accountability: which officer let which complaint lapse, at which level, by how long.
CREATE TABLE lapse (
    event_id        text PRIMARY KEY,
    complaint_id    text        NOT NULL,
    officer_id      text        NOT NULL,
    level           smallint    NOT NULL,
    department      text        NOT NULL,
    district        text        NOT NULL,
    due_at          timestamptz NOT NULL,
    lapsed_at       timestamptz NOT NULL,
    overdue_seconds integer     NOT NULL,
    kind            text        NOT NULL  -- deadline_missed | overdue_at_state
);
CREATE INDEX lapse_by_officer ON lapse (officer_id);

-- Personal data for call-backs. The reporting role gets no grant on it.
CREATE TABLE citizen_contact (
    complaint_id  text PRIMARY KEY,
    citizen_ref   text NOT NULL,
    citizen_phone text NOT NULL,
    citizen_name  text NOT NULL
);

-- The sink's position in each partition, written in the same transaction as the rows.
CREATE TABLE sink_offset (
    consumer       text    NOT NULL,
    kafka_topic     text    NOT NULL,
    kafka_partition integer NOT NULL,
    next_offset    bigint  NOT NULL,
    PRIMARY KEY (consumer, kafka_topic, kafka_partition)
);
