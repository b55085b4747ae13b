/// The logical schema, the same on SQLite and PostgreSQL. Timestamps are instants; `day` columns
/// are the user's local calendar date as `YYYY-MM-DD`; user ids are lower-case UUID text.
enum Schema {
    static let migrations: [Migration] = [
        Migration(version: 1, name: "catalog, profiles, quotas, billing, chat, audit, outbox", statements: [
            """
            CREATE TABLE ai_models (
                id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
                provider TEXT NOT NULL CHECK (provider IN ('openai', 'anthropic', 'together', 'google')),
                provider_model_id TEXT NOT NULL CHECK (length(provider_model_id) > 0),
                display_name TEXT NOT NULL CHECK (length(display_name) > 0),
                description TEXT NOT NULL DEFAULT '',
                enabled BOOLEAN NOT NULL DEFAULT TRUE,
                tier TEXT NOT NULL CHECK (tier IN ('free', 'premium')),
                price_cents INTEGER,
                stripe_product_id TEXT,
                stripe_price_id TEXT,
                metadata TEXT NOT NULL DEFAULT '{}' {json:metadata},
                rate_limit_messages_per_day INTEGER CHECK (rate_limit_messages_per_day >= 0),
                trial_messages_allowed INTEGER NOT NULL DEFAULT 0 CHECK (trial_messages_allowed >= 0),
                sort_order INTEGER NOT NULL DEFAULT 0,
                created_at {ts} NOT NULL,
                updated_at {ts} NOT NULL,
                CHECK ((tier = 'free' AND price_cents IS NULL) OR (tier = 'premium' AND price_cents IS NOT NULL AND price_cents > 0))
            )
            """,
            """
            CREATE TABLE catalog_settings (
                id INTEGER PRIMARY KEY CHECK (id = 1),
                system_default_model_id TEXT NOT NULL REFERENCES ai_models (id),
                version BIGINT NOT NULL DEFAULT 1,
                updated_at {ts} NOT NULL
            )
            """,
            """
            CREATE TABLE profiles (
                id TEXT PRIMARY KEY CHECK (length(id) = 36),
                email TEXT,
                role TEXT NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
                default_model_id TEXT REFERENCES ai_models (id),
                timezone TEXT NOT NULL DEFAULT 'UTC',
                pending_timezone TEXT,
                pending_timezone_from {ts},
                created_at {ts} NOT NULL,
                updated_at {ts} NOT NULL
            )
            """,
            "CREATE INDEX profiles_email ON profiles (email)",
            """
            CREATE TABLE personas (
                id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
                name TEXT NOT NULL,
                description TEXT NOT NULL DEFAULT '',
                system_prompt TEXT NOT NULL,
                sort_order INTEGER NOT NULL DEFAULT 0,
                created_at {ts} NOT NULL
            )
            """,
            """
            CREATE TABLE persona_model_overrides (
                user_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
                persona_id TEXT NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
                model_id TEXT NOT NULL REFERENCES ai_models (id),
                updated_at {ts} NOT NULL,
                PRIMARY KEY (user_id, persona_id)
            )
            """,
            """
            CREATE TABLE model_usage_daily (
                user_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
                model_id TEXT NOT NULL REFERENCES ai_models (id),
                day TEXT NOT NULL CHECK (length(day) = 10),
                message_count INTEGER NOT NULL CHECK (message_count >= 0),
                PRIMARY KEY (user_id, model_id, day)
            )
            """,
            "CREATE INDEX model_usage_daily_model_day ON model_usage_daily (model_id, day)",
            """
            CREATE TABLE model_trials (
                user_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
                model_id TEXT NOT NULL REFERENCES ai_models (id),
                trial_messages_used INTEGER NOT NULL CHECK (trial_messages_used >= 0),
                PRIMARY KEY (user_id, model_id)
            )
            """,
            """
            CREATE TABLE products (
                id TEXT PRIMARY KEY,
                type TEXT NOT NULL CHECK (type IN ('model')),
                model_id TEXT NOT NULL UNIQUE REFERENCES ai_models (id),
                stripe_product_id TEXT UNIQUE,
                stripe_price_id TEXT,
                price_cents INTEGER NOT NULL CHECK (price_cents > 0),
                currency TEXT NOT NULL DEFAULT 'usd',
                active BOOLEAN NOT NULL DEFAULT TRUE,
                created_at {ts} NOT NULL,
                updated_at {ts} NOT NULL
            )
            """,
            """
            CREATE TABLE purchases (
                id {id},
                user_id TEXT NOT NULL REFERENCES profiles (id),
                product_id TEXT NOT NULL REFERENCES products (id),
                stripe_checkout_session_id TEXT UNIQUE,
                stripe_payment_intent_id TEXT,
                amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
                currency TEXT NOT NULL DEFAULT 'usd',
                status TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'failed', 'refunded')),
                created_at {ts} NOT NULL,
                updated_at {ts} NOT NULL
            )
            """,
            """
            CREATE TABLE entitlements (
                id {id},
                user_id TEXT NOT NULL REFERENCES profiles (id),
                product_id TEXT NOT NULL REFERENCES products (id),
                source TEXT NOT NULL CHECK (source IN ('purchase', 'admin_grant', 'trial')),
                purchase_id BIGINT REFERENCES purchases (id),
                note TEXT,
                granted_by TEXT,
                granted_at {ts} NOT NULL,
                revoked_at {ts},
                revoke_reason TEXT
            )
            """,
            "CREATE UNIQUE INDEX entitlements_one_active ON entitlements (user_id, product_id) WHERE revoked_at IS NULL",
            """
            CREATE TABLE stripe_events (
                id TEXT PRIMARY KEY,
                type TEXT NOT NULL,
                processed_at {ts} NOT NULL
            )
            """,
            """
            CREATE TABLE conversations (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
                persona_id TEXT NOT NULL REFERENCES personas (id),
                title TEXT NOT NULL DEFAULT '',
                created_at {ts} NOT NULL,
                updated_at {ts} NOT NULL
            )
            """,
            "CREATE INDEX conversations_user ON conversations (user_id, updated_at)",
            """
            CREATE TABLE messages (
                id {id},
                conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
                role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
                content TEXT NOT NULL,
                model_id TEXT REFERENCES ai_models (id),
                payment_kind TEXT CHECK (payment_kind IN ('free', 'entitled', 'trial')),
                selection_reason TEXT,
                input_tokens INTEGER CHECK (input_tokens >= 0),
                output_tokens INTEGER CHECK (output_tokens >= 0),
                created_at {ts} NOT NULL
            )
            """,
            "CREATE INDEX messages_conversation ON messages (conversation_id, id)",
            """
            CREATE TABLE audit_log (
                id {id},
                actor_id TEXT,
                action TEXT NOT NULL,
                target_type TEXT NOT NULL,
                target_id TEXT NOT NULL,
                before_value TEXT {json:before_value},
                after_value TEXT {json:after_value},
                created_at {ts} NOT NULL
            )
            """,
            "CREATE INDEX audit_log_created ON audit_log (created_at)",
            """
            CREATE TABLE analytics_outbox (
                id TEXT PRIMARY KEY,
                event TEXT NOT NULL,
                distinct_id TEXT NOT NULL,
                properties TEXT NOT NULL {json:properties},
                created_at {ts} NOT NULL,
                delivered_at {ts},
                attempts INTEGER NOT NULL DEFAULT 0,
                last_error TEXT
            )
            """,
            "CREATE INDEX analytics_outbox_pending ON analytics_outbox (delivered_at, created_at)",
        ]),
        Migration(version: 2, name: "refunds seen before their purchase completed", statements: [
            """
            CREATE TABLE stripe_refunds (
                payment_intent_id TEXT PRIMARY KEY,
                amount_refunded INTEGER NOT NULL CHECK (amount_refunded >= 0),
                refunded_at {ts} NOT NULL
            )
            """,
        ]),
        Migration(version: 3, name: "indexes for admin statistics, grants and the audit log", statements: [
            "DROP INDEX model_usage_daily_model_day",
            // Covers the statistics queries: per model and day range, by user, summing counts.
            "CREATE INDEX model_usage_daily_stats ON model_usage_daily (model_id, day, user_id, message_count)",
            "CREATE INDEX entitlements_product_active ON entitlements (product_id) WHERE revoked_at IS NULL",
            "CREATE INDEX purchases_product_status ON purchases (product_id, status)",
            "CREATE INDEX purchases_user_product ON purchases (user_id, product_id)",
            "CREATE INDEX audit_log_actor ON audit_log (actor_id, created_at)",
            "CREATE INDEX audit_log_target ON audit_log (target_type, target_id, created_at)",
            // Per model and user: messages ever sent and the last day with one, kept by the quota
            // ledger in the same transaction as the daily counter (exact, and cheap to rank and count).
            """
            CREATE TABLE model_user_activity (
                model_id TEXT NOT NULL REFERENCES ai_models (id),
                user_id TEXT NOT NULL REFERENCES profiles (id) ON DELETE CASCADE,
                messages INTEGER NOT NULL CHECK (messages >= 0),
                last_day TEXT NOT NULL CHECK (length(last_day) = 10),
                PRIMARY KEY (model_id, user_id)
            )
            """,
            "CREATE INDEX model_user_activity_last_day ON model_user_activity (model_id, last_day)",
            // Read backwards for the top users: messages, then user id, both descending.
            "CREATE INDEX model_user_activity_messages ON model_user_activity (model_id, messages, user_id)",
            """
            INSERT INTO model_user_activity (model_id, user_id, messages, last_day)
            SELECT model_id, user_id, SUM(message_count), MAX(day) FROM model_usage_daily WHERE message_count > 0 GROUP BY model_id, user_id
            """,
            // Message totals of days no user can still write to, filled on first use.
            """
            CREATE TABLE model_usage_rollup (
                model_id TEXT NOT NULL,
                day TEXT NOT NULL CHECK (length(day) = 10),
                messages INTEGER NOT NULL,
                PRIMARY KEY (model_id, day)
            )
            """,
            "CREATE TABLE model_usage_rollup_days (day TEXT PRIMARY KEY CHECK (length(day) = 10))",
        ]),
        Migration(version: 4, name: "preference backups for the rollback commands", statements: [
            // One row per profile (its default, NULL included) and one per coach override.
            """
            CREATE TABLE preference_backups (
                backup_id TEXT NOT NULL,
                user_id TEXT NOT NULL,
                persona_id TEXT,
                model_id TEXT,
                created_at {ts} NOT NULL
            )
            """,
            "CREATE INDEX preference_backups_id ON preference_backups (backup_id, user_id)",
        ]),
        Migration(version: 5, name: "cached prompt tokens of a turn", statements: [
            "ALTER TABLE messages ADD COLUMN cached_input_tokens INTEGER CHECK (cached_input_tokens >= 0)",
        ]),
        Migration(version: 6, name: "chat attachments, tool calls and tool results", statements: [
            // An image is stored once; user turns list the ids they carry (JSON), so history rows stay small.
            """
            CREATE TABLE attachments (
                id TEXT PRIMARY KEY,
                user_id TEXT NOT NULL,
                media_type TEXT NOT NULL,
                data TEXT,
                url TEXT,
                byte_count INTEGER NOT NULL CHECK (byte_count >= 0),
                created_at {ts} NOT NULL,
                CHECK ((data IS NULL AND url IS NOT NULL) OR (data IS NOT NULL AND url IS NULL))
            )
            """,
            "CREATE INDEX attachments_user ON attachments (user_id, id)",
            "ALTER TABLE messages ADD COLUMN attachment_ids TEXT",
            "ALTER TABLE messages ADD COLUMN tool_calls TEXT",
            "ALTER TABLE messages ADD COLUMN tool_results TEXT",
        ]),
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
        callHolds,
    ]
}
