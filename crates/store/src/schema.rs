//! The database schema as Diesel sees it, written to match `migrations/sqlite` exactly (what
//! `diesel print-schema` gives with `sqlite_integer_primary_key_is_bigint`, see `diesel.toml`).

diesel::table! {
    credits (id) {
        id -> BigInt,
        reference_id -> Text,
        seq -> BigInt,
        customer_id -> Text,
        amount_usd -> Text,
        credited_total_usd -> Text,
        event_id -> BigInt,
        created_at -> Text,
        status -> Text,
    }
}

diesel::table! {
    events (id) {
        id -> BigInt,
        received_at -> Text,
        method -> Text,
        auth_method -> Text,
        key_index -> BigInt,
        raw_body -> Binary,
        reference_id -> Nullable<Text>,
        payout_id -> Nullable<Text>,
        status -> Nullable<Text>,
        outcome -> Text,
        credited_usd -> Text,
        detail -> Nullable<Text>,
        origin -> Text,
        replay_of -> Nullable<BigInt>,
        attempts -> BigInt,
        next_attempt_at -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        credit_id -> BigInt,
        state -> Text,
        attempts -> BigInt,
        next_attempt_at -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Text,
        delivered_at -> Nullable<Text>,
    }
}

diesel::table! {
    payments (reference_id) {
        reference_id -> Text,
        status -> Text,
        customer_id -> Nullable<Text>,
        invoice_id -> Nullable<Text>,
        amount -> Nullable<Text>,
        currency -> Nullable<Text>,
        filled_amount -> Nullable<Text>,
        filled_amount_in_usd -> Nullable<Text>,
        credited_usd -> Text,
        late_payment -> Bool,
        credit_count -> BigInt,
        created_at -> Text,
        updated_at -> Text,
    }
}

diesel::table! {
    ledger_totals (id) {
        id -> BigInt,
        credits -> BigInt,
        credited_usd -> Text,
        reconciliation_corrections -> BigInt,
    }
}

diesel::table! {
    payouts (payout_id, status) {
        payout_id -> Text,
        status -> Text,
        first_event_id -> BigInt,
    }
}

diesel::table! {
    revoked_sessions (session_digest) {
        session_digest -> Text,
        expires_at -> Text,
        revoked_at -> Text,
    }
}

diesel::joinable!(credits -> events (event_id));
diesel::joinable!(credits -> payments (reference_id));
diesel::joinable!(outbox -> credits (credit_id));
diesel::joinable!(payouts -> events (first_event_id));

diesel::allow_tables_to_appear_in_same_query!(
    credits,
    events,
    ledger_totals,
    outbox,
    payments,
    payouts,
    revoked_sessions
);
