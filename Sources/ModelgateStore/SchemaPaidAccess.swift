extension Schema {
    /// Subscription plans and credits: what is sold, each user's subscription and wallet, and the
    /// ledger whose sum is the wallet's balance.
    static let paidAccess = Migration(version: 12, name: "subscription plans, credit packs, wallets and their ledger", statements: [
        """
        CREATE TABLE model_credit_prices (
            model_id TEXT PRIMARY KEY REFERENCES ai_models (id),
            per_message BIGINT CHECK (per_message > 0),
            per_million_input BIGINT CHECK (per_million_input >= 0),
            per_million_output BIGINT CHECK (per_million_output >= 0),
            updated_at {ts} NOT NULL,
            CHECK ((per_message IS NULL) <> (per_million_input IS NULL AND per_million_output IS NULL))
        )
        """,
        """
        CREATE TABLE credit_wallets (
            user_id TEXT PRIMARY KEY,
            balance BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
            updated_at {ts} NOT NULL
        )
        """,
        """
        CREATE TABLE credit_ledger (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            movement TEXT NOT NULL CHECK (movement IN ('purchase', 'store', 'grant', 'adjustment', 'hold', 'release', 'spend', 'refund', 'expiry')),
            amount BIGINT NOT NULL,
            reference TEXT NOT NULL,
            created_at {ts} NOT NULL,
            UNIQUE (movement, reference)
        )
        """,
        "CREATE INDEX credit_ledger_user ON credit_ledger (user_id, created_at)",
        """
        CREATE TABLE credit_lots (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            credits BIGINT NOT NULL CHECK (credits > 0),
            remaining BIGINT NOT NULL CHECK (remaining >= 0),
            expires_at {ts},
            created_at {ts} NOT NULL
        )
        """,
        "CREATE INDEX credit_lots_user ON credit_lots (user_id, remaining)",
        "CREATE INDEX credit_lots_expiry ON credit_lots (expires_at)",
        "ALTER TABLE budget_holds ADD COLUMN credits BIGINT NOT NULL DEFAULT 0 CHECK (credits >= 0)",
        "ALTER TABLE budget_holds ADD COLUMN credit_price TEXT",
        // The payment kinds added since the first schema (its CHECK lists three); read before `payment_kind`.
        "ALTER TABLE messages ADD COLUMN payment_source TEXT CHECK (payment_source IN ('plan', 'credits'))",
        """
        CREATE TABLE credit_packs (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            credits BIGINT NOT NULL CHECK (credits > 0),
            price_cents INTEGER NOT NULL CHECK (price_cents > 0),
            valid_days INTEGER CHECK (valid_days > 0),
            active BOOLEAN NOT NULL DEFAULT TRUE,
            stripe_product_id TEXT,
            stripe_price_id TEXT,
            created_at {ts} NOT NULL,
            updated_at {ts} NOT NULL
        )
        """,
        """
        CREATE TABLE credit_orders (
            session_id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            pack_id TEXT NOT NULL REFERENCES credit_packs (id),
            credits BIGINT NOT NULL CHECK (credits > 0),
            amount_cents INTEGER NOT NULL,
            currency TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'failed', 'refunded')),
            payment_intent TEXT UNIQUE,
            lot_id TEXT,
            created_at {ts} NOT NULL,
            updated_at {ts} NOT NULL
        )
        """,
        """
        CREATE TABLE plans (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            billing_interval TEXT NOT NULL CHECK (billing_interval IN ('month', 'year')),
            price_cents INTEGER NOT NULL CHECK (price_cents > 0),
            unlocks_all_premium BOOLEAN NOT NULL,
            model_ids TEXT NOT NULL {json:model_ids},
            messages_per_day INTEGER CHECK (messages_per_day > 0),
            messages_per_period INTEGER CHECK (messages_per_period > 0),
            trial_days INTEGER CHECK (trial_days > 0),
            active BOOLEAN NOT NULL DEFAULT TRUE,
            stripe_product_id TEXT,
            stripe_price_id TEXT,
            created_at {ts} NOT NULL,
            updated_at {ts} NOT NULL
        )
        """,
        """
        CREATE TABLE subscriptions (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            plan_id TEXT NOT NULL REFERENCES plans (id),
            source TEXT NOT NULL CHECK (source IN ('stripe', 'store')),
            status TEXT NOT NULL CHECK (status IN ('trialing', 'active', 'past_due', 'unpaid', 'canceled', 'incomplete', 'incomplete_expired', 'paused')),
            period_start {ts} NOT NULL,
            period_end {ts} NOT NULL,
            cancel_at_period_end BOOLEAN NOT NULL DEFAULT FALSE,
            past_due_since {ts},
            customer_id TEXT,
            state_version BIGINT NOT NULL,
            created_at {ts} NOT NULL,
            updated_at {ts} NOT NULL
        )
        """,
        "CREATE INDEX subscriptions_user ON subscriptions (user_id)",
        """
        CREATE TABLE plan_usage (
            user_id TEXT NOT NULL,
            bucket TEXT NOT NULL,
            messages INTEGER NOT NULL CHECK (messages >= 0),
            PRIMARY KEY (user_id, bucket)
        )
        """,
        """
        CREATE TABLE subscription_invoices (
            id TEXT PRIMARY KEY,
            subscription_id TEXT NOT NULL,
            user_id TEXT NOT NULL,
            plan_id TEXT NOT NULL,
            amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
            currency TEXT NOT NULL,
            period_start {ts} NOT NULL,
            period_end {ts} NOT NULL,
            paid_at {ts} NOT NULL
        )
        """,
        "CREATE INDEX subscription_invoices_paid ON subscription_invoices (paid_at)",
        "CREATE TABLE billing_customers (user_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL UNIQUE)",
        """
        CREATE TABLE store_transactions (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('plan', 'credits')),
            created_at {ts} NOT NULL
        )
        """,
    ])

    /// Metered usage: a plan's meter, and the meter events waiting to be reported to Stripe, one
    /// per call (its id is Stripe's `identifier`, so a resend is never counted twice).
    static let meteredUsage = Migration(version: 13, name: "metered usage of plans and its outbox", statements: [
        "ALTER TABLE plans ADD COLUMN meter TEXT",
        """
        CREATE TABLE meter_events (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            subscription_id TEXT NOT NULL,
            event_name TEXT NOT NULL,
            value BIGINT NOT NULL CHECK (value >= 0),
            occurred_at {ts} NOT NULL,
            delivered_at {ts},
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT
        )
        """,
        "CREATE INDEX meter_events_pending ON meter_events (delivered_at, occurred_at)",
    ])

    /// The names clients send for catalog models (exact names and prefixes).
    static let modelAliases = Migration(version: 14, name: "model aliases", statements: [
        """
        CREATE TABLE model_aliases (
            name TEXT PRIMARY KEY,
            model_id TEXT NOT NULL REFERENCES ai_models (id),
            match_kind TEXT NOT NULL CHECK (match_kind IN ('exact', 'prefix')),
            updated_at {ts} NOT NULL
        )
        """,
    ])

    /// The service keys an app's backend may report its store purchases with.
    static let storePurchaseKeys = Migration(version: 15, name: "service keys that report store purchases", statements: [
        "CREATE TABLE store_purchase_keys (key_id TEXT PRIMARY KEY REFERENCES api_keys (id), granted_at {ts} NOT NULL)",
    ])
}
