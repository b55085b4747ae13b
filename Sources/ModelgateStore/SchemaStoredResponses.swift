extension Schema {
    /// Responses API answers kept for `GET /v1/responses/{id}` and `previous_response_id`: the whole
    /// conversation that led to each (so a chain is one lookup), its output, and the answer's other
    /// fields, for their owner only and until they expire.
    static let storedResponses = Migration(version: 16, name: "stored Responses API answers", statements: [
        """
        CREATE TABLE stored_responses (
            id TEXT PRIMARY KEY,
            user_id TEXT NOT NULL,
            model_id TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('completed', 'incomplete')),
            input_items TEXT NOT NULL {json:input_items},
            output_items TEXT NOT NULL {json:output_items},
            response TEXT NOT NULL {json:response},
            created_at {ts} NOT NULL,
            expires_at {ts} NOT NULL
        )
        """,
        "CREATE INDEX stored_responses_owner ON stored_responses (user_id, id)",
        "CREATE INDEX stored_responses_expiry ON stored_responses (expires_at)",
    ])
}
