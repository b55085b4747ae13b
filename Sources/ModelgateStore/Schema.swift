/// The logical schema, the same on SQLite and PostgreSQL. Timestamps are instants; `day` columns
/// are the user's local calendar date as `YYYY-MM-DD`; user ids are lower-case UUID text.
enum Schema {
    static let migrations: [Migration] = foundation + keysToFailover + [callHolds, paidAccess, meteredUsage, modelAliases, storePurchaseKeys, storedResponses, modelKinds]

    /// The catalog, profiles, quotas, billing, chat and audit, and what they gained in the first weeks.
    static let foundation: [Migration] = [
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
    ]
}
