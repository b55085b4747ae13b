extension Schema {
    /// Each budget hold as a row with its expiry (the counters keep the sum), so a sweep can return
    /// a hold whose call never settled; and the calls already settled, so a retried settlement
    /// books nothing twice.
    static let callHolds = Migration(version: 11, name: "budget holds with an expiry, settled calls", statements: [
        """
        CREATE TABLE budget_holds (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            model_id TEXT NOT NULL,
            day TEXT NOT NULL CHECK (length(day) = 10),
            tokens BIGINT NOT NULL CHECK (tokens >= 0),
            cost_micros BIGINT NOT NULL CHECK (cost_micros >= 0),
            expires_at {ts} NOT NULL
        )
        """,
        "CREATE INDEX budget_holds_expiry ON budget_holds (expires_at)",
        "CREATE TABLE settled_calls (id TEXT PRIMARY KEY, settled_at {ts} NOT NULL)",
        "CREATE INDEX settled_calls_age ON settled_calls (settled_at)",
    ])
}
