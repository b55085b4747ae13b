import Foundation
import ModelgateCore
import SQLKit

/// The catalog and coaches a fresh install starts with. Inserting is idempotent and never
/// overwrites a row that exists, so an admin's edits survive every re-seed.
public enum Seed {
    public static let systemDefault: ModelID = "gpt-4o-mini"

    /// The seven chat models, then the embedding models.
    public static let models: [AIModel] = chatModels + embeddingModels

    public static let chatModels: [AIModel] = [
        model("gpt-4o-mini", .openai, "gpt-4o-mini", "GPT-4o mini", "Fast, affordable OpenAI model for everyday coaching.",
              .free, nil, nil, 0, 10, speed: "fast", quality: "good", context: 128_000, prices: .perMillion(0.15, 0.60, cached: 0.075)),
        model("claude-3-5-haiku", .anthropic, "claude-3-5-haiku-latest", "Claude 3.5 Haiku", "Anthropic's quickest model, warm and concise.",
              .free, nil, nil, 0, 20, speed: "fast", quality: "good", context: 200_000, prices: .perMillion(0.80, 4, cached: 0.08, cacheWrite: 1)),
        model("llama-3.1-8b", .together, "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo", "Llama 3.1 8B", "Open-weights Llama served by Together AI.",
              .free, nil, nil, 0, 30, speed: "fastest", quality: "basic", context: 131_072, prices: .perMillion(0.18, 0.18, cached: 0.18)),
        model("gpt-4o", .openai, "gpt-4o", "GPT-4o", "OpenAI's flagship: deeper reasoning for complex goals.",
              .premium, 299, 50, 2, 40, speed: "medium", quality: "excellent", context: 128_000, prices: .perMillion(2.50, 10, cached: 1.25)),
        model("claude-3-5-sonnet", .anthropic, "claude-3-5-sonnet-latest", "Claude 3.5 Sonnet", "Thoughtful, nuanced coaching conversations.",
              .premium, 299, 50, 2, 50, speed: "medium", quality: "excellent", context: 200_000,
              prices: .perMillion(3, 15, cached: 0.30, cacheWrite: 3.75)),
        model("gemini-pro-1.5", .google, "gemini-1.5-pro", "Gemini 1.5 Pro", "Google's long-context model: remembers long journeys.",
              .premium, 299, 50, 2, 60, speed: "medium", quality: "excellent", context: 2_000_000, prices: .perMillion(1.25, 5, cached: 0.3125)),
        model("claude-3-opus", .anthropic, "claude-3-opus-latest", "Claude 3 Opus", "Anthropic's most capable model for the hardest questions.",
              .premium, 499, 30, 2, 70, speed: "slow", quality: "best", context: 200_000,
              prices: .perMillion(15, 75, cached: 1.50, cacheWrite: 18.75)),
    ]

    /// For `POST /v1/embeddings`: input tokens only (no reply, no cache). All free: they cost cents per
    /// million tokens, and the daily limit and token budgets are the levers (an admin can sell one as
    /// premium). A daily limit of 1,000 calls of their own, since indexing sends many more calls than a
    /// conversation does.
    public static let embeddingModels: [AIModel] = [
        embedding("text-embedding-3-small", .openai, "text-embedding-3-small", "Text Embedding 3 Small", .free, nil, 0, 100,
                  context: 8_192, dimensions: 1_536, price: 0.02),
        embedding("text-embedding-3-large", .openai, "text-embedding-3-large", "Text Embedding 3 Large", .free, nil, 0, 110,
                  context: 8_192, dimensions: 3_072, price: 0.13),
        embedding("gemini-embedding-001", .google, "gemini-embedding-001", "Gemini Embedding", .free, nil, 0, 120,
                  context: 2_048, dimensions: 3_072, price: 0.15),
        embedding("bge-base-en-v1.5", .together, "BAAI/bge-base-en-v1.5", "BGE Base EN v1.5", .free, nil, 0, 130,
                  context: 512, dimensions: 768, price: 0.008),
    ]

    /// Where the seeded prices come from: the providers' published list prices (US dollars per million
    /// tokens) as of 2024-11-04, when Claude 3.5 Haiku's were announced. OpenAI: openai.com/api/pricing
    /// (gpt-4o-2024-08-06, gpt-4o-mini; cached input half price). Anthropic: anthropic.com/pricing (cache
    /// writes 1.25×, reads 0.1× input). Google: ai.google.dev/pricing after the 2024-10-01 cut, prompts up
    /// to 128k tokens (longer prompts cost twice as much: not modelled). Together AI: together.ai/pricing
    /// (Llama 3.1 8B Instruct Turbo, one price for input and output, no cache discount). OpenAI's and
    /// Together's figures match LiteLLM 1.108.7's model_prices_and_context_window.json.
    public static let priceSource = "provider list prices as of 2024-11-04 (seed)"

    /// Embedding prices (US dollars per million input tokens), read 2026-12-07: OpenAI's model pages
    /// (text-embedding-3-small $0.02, -large $0.13), the Google Developers Blog's "Gemini Embedding now
    /// available in the Gemini API" ($0.15), and LiteLLM's model price map for Together's BAAI/bge-base-en-v1.5
    /// (its "up to 150M parameters" embedding price, $0.008).
    public static let embeddingPriceSource = "provider list prices as of 2026-12-07 (seed)"

    public static let personas: [Persona] = [
        Persona(id: "career", name: "Career Coach", description: "Job search, growth and hard conversations at work.",
                systemPrompt: "You are a supportive career coach. Ask clarifying questions and give concrete next steps.", sortOrder: 1),
        Persona(id: "fitness", name: "Fitness Coach", description: "Training plans, habits and motivation.",
                systemPrompt: "You are an encouraging fitness coach. Keep advice safe, practical and progressive.", sortOrder: 2),
        Persona(id: "mindfulness", name: "Mindfulness Coach", description: "Stress, focus and calm.",
                systemPrompt: "You are a calm mindfulness coach. Offer short exercises and gentle reflection.", sortOrder: 3),
        Persona(id: "nutrition", name: "Nutrition Coach", description: "Eating well without the guilt.",
                systemPrompt: "You are a friendly nutrition coach. Give balanced, evidence-based guidance, not medical advice.", sortOrder: 4),
    ]

    private static func model(
        _ id: ModelID, _ provider: Provider, _ providerModel: String, _ name: String, _ description: String,
        _ tier: Tier, _ price: Int?, _ limit: Int?, _ trials: Int, _ order: Int,
        speed: String, quality: String, context: Int, prices: TokenPrices
    ) -> AIModel {
        AIModel(
            id: id, provider: provider, providerModelID: providerModel, displayName: name, description: description,
            tier: tier, priceCents: price,
            metadata: .object(["speed": .string(speed), "quality": .string(quality), "contextWindow": .number(Double(context))]),
            dailyMessageLimit: limit, trialMessagesAllowed: trials, sortOrder: order, prices: prices)
    }

    private static func embedding(
        _ id: ModelID, _ provider: Provider, _ providerModel: String, _ name: String, _ tier: Tier, _ price: Int?, _ trials: Int, _ order: Int,
        context: Int, dimensions: Int, price dollars: Double
    ) -> AIModel {
        AIModel(
            id: id, provider: provider, providerModelID: providerModel, displayName: name,
            description: "Embeddings of up to \(context) tokens per input, \(dimensions) dimensions.", tier: tier, priceCents: price,
            metadata: .object(["contextWindow": .number(Double(context)), "dimensions": .number(Double(dimensions))]),
            dailyMessageLimit: 1_000, trialMessagesAllowed: trials, sortOrder: order, prices: .perMillion(dollars, 0, cached: dollars),
            kind: .embedding)
    }

    /// Inserts what is missing; returns how many rows were new.
    @discardableResult
    public static func apply(_ database: Database, at now: Date) async throws -> Int {
        try await database.transaction { db in
            var inserted = 0
            for model in models {
                var unpriced = model
                unpriced.prices = nil
                let source = model.kind == .embedding ? embeddingPriceSource : priceSource
                inserted += try await CatalogRepository.insert(unpriced, at: now, onConflictDoNothing: true, priceSource: source, in: db)
                // Also prices a model seeded before prices existed; an admin's prices are never replaced.
                if let prices = model.prices {
                    let change = PriceChange(modelId: model.id, prices: prices, effectiveFrom: now, source: source)
                    inserted += try await PriceHistory.recordIfNone(change, in: db) ? 1 : 0
                }
            }
            inserted += try await db.raw("""
                INSERT INTO catalog_settings (id, system_default_model_id, version, updated_at)
                VALUES (1, \(bind: systemDefault.rawValue), 1, \(bind: now)) ON CONFLICT (id) DO NOTHING RETURNING id
                """).all().count
            for persona in personas {
                inserted += try await db.raw("""
                    INSERT INTO personas (id, name, description, system_prompt, sort_order, created_at)
                    VALUES (\(bind: persona.id.rawValue), \(bind: persona.name), \(bind: persona.description),
                            \(bind: persona.systemPrompt), \(bind: persona.sortOrder), \(bind: now))
                    ON CONFLICT (id) DO NOTHING RETURNING id
                    """).all().count
            }
            return inserted
        }
    }
}
