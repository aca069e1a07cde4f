-- batches: every submitted file or exchange read, landed or rejected, and when the warehouse merged it.
create table if not exists batches (
    batch_id varchar primary key,
    department varchar,
    record_type varchar,
    file_name varchar,
    sha256 varchar,
    status varchar,            -- landed | rejected
    reason_rule varchar,
    reason varchar,
    rows bigint,
    accepted bigint,
    quarantined bigint,
    warned bigint,
    landed_at timestamptz,
    merged_at timestamptz
);
