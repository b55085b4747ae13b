extension Schema {
    /// API keys and end users, sessions and abuse limits, cost per call and budgets, failover.
    static let keysToFailover: [Migration] = [
        Migration(version: 7, name: "apps, API keys, end users and per-key request windows", statements: [
            "CREATE TABLE apps (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_at {ts} NOT NULL)",
            // Only the SHA-256 of a key is stored; `prefix` is the part shown again (mg_live_<id>).
            """
            CREATE TABLE api_keys (
                id TEXT PRIMARY KEY,
                app_id TEXT NOT NULL REFERENCES apps (id),
                name TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('user', 'service')),
                prefix TEXT NOT NULL,
                secret_hash TEXT NOT NULL UNIQUE,
                user_id TEXT REFERENCES profiles (id),
                rpm_limit INTEGER CHECK (rpm_limit > 0),
                rpm_per_end_user INTEGER CHECK (rpm_per_end_user > 0),
                max_streams INTEGER CHECK (max_streams > 0),
                max_streams_per_end_user INTEGER CHECK (max_streams_per_end_user > 0),
                task_model_id TEXT REFERENCES ai_models (id),
                task_daily_budget INTEGER CHECK (task_daily_budget > 0),
                forwarded_user_headers INTEGER NOT NULL DEFAULT 0,
                created_at {ts} NOT NULL,
                last_used_at {ts},
                expires_at {ts},
                revoked_at {ts},
                CHECK ((kind = 'user') = (user_id IS NOT NULL)),
                CHECK ((task_model_id IS NULL) = (task_daily_budget IS NULL))
            )
            """,
            // A key's background calls (title and tag generation) per UTC day: the key's budget, never an end user's.
            """
            CREATE TABLE key_task_usage (
                key_id TEXT NOT NULL REFERENCES api_keys (id),
                day TEXT NOT NULL,
                used INTEGER NOT NULL CHECK (used >= 0),
                PRIMARY KEY (key_id, day)
            )
            """,
            // An app's end user ("alice" of one app is not "alice" of another) is a profile of its own.
            """
            CREATE TABLE end_users (
                app_id TEXT NOT NULL REFERENCES apps (id),
                external_id TEXT NOT NULL CHECK (length(external_id) BETWEEN 1 AND 128),
                user_id TEXT NOT NULL UNIQUE REFERENCES profiles (id),
                created_at {ts} NOT NULL,
                PRIMARY KEY (app_id, external_id)
            )
            """,
            """
            CREATE TABLE key_request_windows (
                key_id TEXT NOT NULL REFERENCES api_keys (id),
                subject TEXT NOT NULL,
                window_start TEXT NOT NULL,
                requests INTEGER NOT NULL CHECK (requests >= 0),
                PRIMARY KEY (key_id, subject, window_start)
            )
            """,
            // The chat calls a key has open now; a row outlives a crashed instance only until it expires.
            """
            CREATE TABLE key_streams (
                id TEXT PRIMARY KEY,
                key_id TEXT NOT NULL REFERENCES api_keys (id),
                subject TEXT NOT NULL,
                expires_at {ts} NOT NULL
            )
            """,
            "CREATE INDEX key_streams_key ON key_streams (key_id, subject)",
            // A sign-in link a service makes for one of its end users: single use, short-lived.
            """
            CREATE TABLE sign_in_links (
                token_hash TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES profiles (id),
                key_id TEXT NOT NULL REFERENCES api_keys (id),
                expires_at {ts} NOT NULL,
                used_at {ts},
                created_at {ts} NOT NULL
            )
            """,
        ]),
        Migration(version: 8, name: "server-side sessions, disputes, per-user abuse limits", statements: [
            // A page session: only the SHA-256 of its random id is stored, so a database copy signs nobody in.
            """
            CREATE TABLE sessions (
                id_hash TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES profiles (id),
                email TEXT,
                claims_admin BOOLEAN NOT NULL,
                user_agent TEXT,
                created_at {ts} NOT NULL,
                last_seen_at {ts} NOT NULL,
                expires_at {ts} NOT NULL
            )
            """,
            "CREATE INDEX sessions_user ON sessions (user_id)",
            // A one-time sign-in code: the token it was made from is exchanged by the page's POST, once.
            """
            CREATE TABLE sign_in_codes (
                code_hash TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES profiles (id),
                email TEXT,
                claims_admin BOOLEAN NOT NULL,
                session_expires_at {ts} NOT NULL,
                expires_at {ts} NOT NULL,
                used_at {ts}
            )
            """,
            "ALTER TABLE entitlements ADD COLUMN suspended_at {ts}",
            "ALTER TABLE purchases ADD COLUMN dispute_status TEXT CHECK (dispute_status IN ('open', 'won', 'lost'))",
            // Per-user request windows of the chat routes and of checkout, counted with one conditional upsert.
            """
            CREATE TABLE user_request_windows (
                user_id TEXT NOT NULL REFERENCES profiles (id),
                scope TEXT NOT NULL CHECK (scope IN ('chat', 'checkout')),
                window_start TEXT NOT NULL,
                requests INTEGER NOT NULL CHECK (requests >= 0),
                PRIMARY KEY (user_id, scope, window_start)
            )
            """,
            // The chat calls a user has open now; a row outlives a crashed instance only until it expires.
            """
            CREATE TABLE user_streams (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES profiles (id),
                expires_at {ts} NOT NULL
            )
            """,
            "CREATE INDEX user_streams_user ON user_streams (user_id)",
            // NULL: free models without a daily limit of their own are unlimited (set so explicitly).
            "ALTER TABLE catalog_settings ADD COLUMN free_daily_limit INTEGER DEFAULT 200 CHECK (free_daily_limit > 0)",
        ]),
        Migration(version: 9, name: "provider prices, cost per call, token and dollar budgets, booked revenue", statements: [
            // Price history: the price of a call is the one in force when it was admitted, so a change never alters past costs.
            """
            CREATE TABLE model_prices (
                model_id TEXT NOT NULL REFERENCES ai_models (id),
                effective_from {ts} NOT NULL,
                input_micros_per_million BIGINT NOT NULL CHECK (input_micros_per_million >= 0),
                output_micros_per_million BIGINT NOT NULL CHECK (output_micros_per_million >= 0),
                cached_input_micros_per_million BIGINT NOT NULL CHECK (cached_input_micros_per_million >= 0),
                cache_write_micros_per_million BIGINT CHECK (cache_write_micros_per_million >= 0),
                source TEXT NOT NULL,
                PRIMARY KEY (model_id, effective_from)
            )
            """,
            "ALTER TABLE ai_models ADD COLUMN daily_token_budget BIGINT CHECK (daily_token_budget > 0)",
            "ALTER TABLE catalog_settings ADD COLUMN user_daily_cost_budget_micros BIGINT CHECK (user_daily_cost_budget_micros > 0)",
            // What calls used and cost per user, model and local day, settled after each stream; and the
            // tokens reserved by calls still streaming (their worst case), which budgets count as spent.
            "ALTER TABLE model_usage_daily ADD COLUMN input_tokens BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE model_usage_daily ADD COLUMN output_tokens BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE model_usage_daily ADD COLUMN cached_input_tokens BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE model_usage_daily ADD COLUMN cache_write_tokens BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE model_usage_daily ADD COLUMN cost_micros BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE model_usage_daily ADD COLUMN calls BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE model_usage_daily ADD COLUMN estimated_calls BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE model_usage_daily ADD COLUMN tokens_reserved BIGINT NOT NULL DEFAULT 0 CHECK (tokens_reserved >= 0)",
            // The statistics index now covers the margin report's sums too: its open days are read
            // from the index alone (a day has a row per active user).
            "DROP INDEX model_usage_daily_stats",
            """
            CREATE INDEX model_usage_daily_stats ON model_usage_daily (model_id, day, user_id, message_count, calls, input_tokens,
                output_tokens, cached_input_tokens, cache_write_tokens, estimated_calls, cost_micros)
            """,
            // A user's spend across models per local day, with the worst case of calls still streaming.
            """
            CREATE TABLE user_spend_daily (
                user_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
                day TEXT NOT NULL CHECK (length(day) = 10),
                cost_micros BIGINT NOT NULL DEFAULT 0 CHECK (cost_micros >= 0),
                reserved_micros BIGINT NOT NULL DEFAULT 0 CHECK (reserved_micros >= 0),
                tokens BIGINT NOT NULL DEFAULT 0,
                PRIMARY KEY (user_id, day)
            )
            """,
            // All-time spend per user, read backwards for the top spenders.
            """
            CREATE TABLE user_spend_totals (
                user_id TEXT PRIMARY KEY REFERENCES profiles (id) ON DELETE CASCADE,
                cost_micros BIGINT NOT NULL DEFAULT 0,
                tokens BIGINT NOT NULL DEFAULT 0,
                calls BIGINT NOT NULL DEFAULT 0
            )
            """,
            "CREATE INDEX user_spend_totals_cost ON user_spend_totals (cost_micros, user_id)",
            "ALTER TABLE model_usage_rollup ADD COLUMN input_tokens BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE model_usage_rollup ADD COLUMN output_tokens BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE model_usage_rollup ADD COLUMN cached_input_tokens BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE model_usage_rollup ADD COLUMN cache_write_tokens BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE model_usage_rollup ADD COLUMN cost_micros BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE model_usage_rollup ADD COLUMN calls BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE model_usage_rollup ADD COLUMN estimated_calls BIGINT NOT NULL DEFAULT 0",
            "ALTER TABLE messages ADD COLUMN cache_write_tokens BIGINT",
            "ALTER TABLE messages ADD COLUMN reasoning_tokens BIGINT",
            "ALTER TABLE messages ADD COLUMN cost_micros BIGINT",
            "ALTER TABLE messages ADD COLUMN usage_estimated BOOLEAN",
            // Revenue as booked: a purchase's amount on the UTC day it completed, a refund's as a negative
            // amount on the day it was refunded. Once per purchase and kind, however often Stripe retries.
            """
            CREATE TABLE revenue_bookings (
                purchase_id BIGINT NOT NULL REFERENCES purchases (id),
                kind TEXT NOT NULL CHECK (kind IN ('purchase', 'refund')),
                model_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                day TEXT NOT NULL CHECK (length(day) = 10),
                amount_cents INTEGER NOT NULL,
                booked_at {ts} NOT NULL,
                PRIMARY KEY (purchase_id, kind)
            )
            """,
            "CREATE INDEX revenue_bookings_day ON revenue_bookings (day, model_id)",
            // Purchases before this version: booked on the day their checkout was created (when it
            // completed was not kept), refunds on the day the purchase last changed.
            """
            INSERT INTO revenue_bookings (purchase_id, kind, model_id, user_id, day, amount_cents, booked_at)
            SELECT p.id, 'purchase', r.model_id, p.user_id, {utcday:p.created_at}, p.amount_cents, p.created_at
            FROM purchases p JOIN products r ON r.id = p.product_id WHERE p.status IN ('completed', 'refunded')
            """,
            """
            INSERT INTO revenue_bookings (purchase_id, kind, model_id, user_id, day, amount_cents, booked_at)
            SELECT p.id, 'refund', r.model_id, p.user_id, {utcday:p.updated_at}, -p.amount_cents, p.updated_at
            FROM purchases p JOIN products r ON r.id = p.product_id WHERE p.status = 'refunded'
            """,
        ]),
        Migration(version: 10, name: "failover groups, failovers per day, the model a turn failed over from", statements: [
            // A model's stand-ins, tried in `position` order when its provider fails before the first token.
            """
            CREATE TABLE failover_stand_ins (
                model_id TEXT NOT NULL REFERENCES ai_models (id),
                position INTEGER NOT NULL CHECK (position >= 0),
                stand_in_id TEXT NOT NULL REFERENCES ai_models (id),
                allow_higher_tier BOOLEAN NOT NULL,
                PRIMARY KEY (model_id, position),
                UNIQUE (model_id, stand_in_id),
                CHECK (stand_in_id <> model_id)
            )
            """,
            """
            CREATE TABLE model_failovers_daily (
                day TEXT NOT NULL CHECK (length(day) = 10),
                from_model_id TEXT NOT NULL,
                to_model_id TEXT NOT NULL,
                failovers INTEGER NOT NULL CHECK (failovers >= 0),
                PRIMARY KEY (day, from_model_id, to_model_id)
            )
            """,
            "ALTER TABLE messages ADD COLUMN failover_from TEXT",
            // A provider's circuit as the instance that opened it published it, so the others skip it too.
            """
            CREATE TABLE provider_circuits (
                provider TEXT PRIMARY KEY,
                open_until {ts}
            )
            """,
        ]),
    ]
}
