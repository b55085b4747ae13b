import Foundation
import ModelgateCore
import SQLKit

/// Every price a model ever had. A call is costed at the price in force when it was admitted, so a
/// change applies to later calls only; rows are only ever added.
public enum PriceHistory {
    /// Each model's newest price.
    static func current(in db: any SQLDatabase) async throws -> [ModelID: TokenPrices] {
        let rows = try await db.raw("""
            SELECT p.model_id, \(unsafeRaw: priceColumns) FROM model_prices p
            WHERE p.effective_from = (SELECT MAX(q.effective_from) FROM model_prices q WHERE q.model_id = p.model_id)
            """).all()
        return Dictionary(try rows.map { (ModelID(try $0.decode(column: "model_id", as: String.self)), try decodePrices($0)) },
                          uniquingKeysWith: { first, _ in first })
    }

    /// A model's prices, newest first.
    static func changes(of model: ModelID, in database: Database) async throws -> [PriceChange] {
        try await database.read { db in
            try await db.raw("""
                SELECT p.model_id, p.effective_from, p.source, \(unsafeRaw: priceColumns) FROM model_prices p
                WHERE p.model_id = \(bind: model.rawValue) ORDER BY p.effective_from DESC
                """).all().map { row in
                PriceChange(modelId: model, prices: try decodePrices(row),
                            effectiveFrom: try row.decode(column: "effective_from", as: Date.self), source: try row.decode(column: "source", as: String.self))
            }
        }
    }

    public static func record(_ change: PriceChange, in db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO model_prices (model_id, effective_from, input_micros_per_million, output_micros_per_million,
                                      cached_input_micros_per_million, cache_write_micros_per_million, source)
            VALUES (\(bind: change.modelId.rawValue), \(bind: change.effectiveFrom), \(bind: change.prices.inputMicrosPerMillion),
                    \(bind: change.prices.outputMicrosPerMillion), \(bind: change.prices.cachedInputMicrosPerMillion),
                    \(bind: change.prices.cacheWriteMicrosPerMillion), \(bind: change.source))
            ON CONFLICT (model_id, effective_from) DO UPDATE SET input_micros_per_million = excluded.input_micros_per_million,
                output_micros_per_million = excluded.output_micros_per_million,
                cached_input_micros_per_million = excluded.cached_input_micros_per_million,
                cache_write_micros_per_million = excluded.cache_write_micros_per_million, source = excluded.source
            """).run()
    }

    /// Prices for a model that never had any (a seed run on a database older than prices).
    static func recordIfNone(_ change: PriceChange, in db: any SQLDatabase) async throws -> Bool {
        let existing = try await db.raw("SELECT 1 AS found FROM model_prices WHERE model_id = \(bind: change.modelId.rawValue)").first()
        guard existing == nil else { return false }
        try await record(change, in: db)
        return true
    }

    private static let priceColumns = """
        p.input_micros_per_million, p.output_micros_per_million, p.cached_input_micros_per_million, p.cache_write_micros_per_million
        """

    private static func decodePrices(_ row: any SQLRow) throws -> TokenPrices {
        TokenPrices(
            inputMicrosPerMillion: try row.decode(column: "input_micros_per_million", as: Int.self),
            outputMicrosPerMillion: try row.decode(column: "output_micros_per_million", as: Int.self),
            cachedInputMicrosPerMillion: try row.decode(column: "cached_input_micros_per_million", as: Int.self),
            cacheWriteMicrosPerMillion: try row.decode(column: "cache_write_micros_per_million", as: Int?.self))
    }
}
