extension Schema {
    /// What a model does: `chat` (every model before this version) or `embedding`.
    static let modelKinds = Migration(version: 17, name: "model kinds: chat and embedding models", statements: [
        "ALTER TABLE ai_models ADD COLUMN kind TEXT NOT NULL DEFAULT 'chat' CHECK (kind IN ('chat', 'embedding'))",
    ])
}
