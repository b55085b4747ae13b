import Foundation

/// A model's provider list prices in micro-dollars (millionths of a US dollar) per million tokens,
/// so a price like $0.075 or $0.3125 per million is an exact integer.
public struct TokenPrices: Sendable, Equatable, Codable {
    public var inputMicrosPerMillion: Int
    public var outputMicrosPerMillion: Int
    /// Prompt tokens the provider read from its cache.
    public var cachedInputMicrosPerMillion: Int
    /// Prompt tokens written to the cache (Anthropic charges 1.25× input); `nil`: the input price.
    public var cacheWriteMicrosPerMillion: Int?

    public init(inputMicrosPerMillion: Int, outputMicrosPerMillion: Int, cachedInputMicrosPerMillion: Int, cacheWriteMicrosPerMillion: Int? = nil) {
        self.inputMicrosPerMillion = inputMicrosPerMillion
        self.outputMicrosPerMillion = outputMicrosPerMillion
        self.cachedInputMicrosPerMillion = cachedInputMicrosPerMillion
        self.cacheWriteMicrosPerMillion = cacheWriteMicrosPerMillion
    }

    /// Prices given in dollars per million tokens, as providers publish them (to the micro-dollar).
    public static func perMillion(_ input: Double, _ output: Double, cached: Double, cacheWrite: Double? = nil) -> TokenPrices {
        func micros(_ dollars: Double) -> Int { Int((dollars * 1_000_000).rounded()) }
        return TokenPrices(inputMicrosPerMillion: micros(input), outputMicrosPerMillion: micros(output),
                           cachedInputMicrosPerMillion: micros(cached), cacheWriteMicrosPerMillion: cacheWrite.map(micros))
    }

    /// Micro-dollars from a decimal dollar amount as an admin types it ("2.50", "0.3125"); `nil` when it
    /// is not a plain non-negative number with at most six decimals.
    public static func micros(fromDollars text: String) -> Int? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let whole = parts.first, !whole.isEmpty, whole.count <= 7, whole.allSatisfy(\.isASCIIDigit) else { return nil }
        let fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.count <= 6, fraction.allSatisfy(\.isASCIIDigit), parts.count == 1 || !fraction.isEmpty,
              let dollars = Int(whole), let decimals = Int(fraction + String(repeating: "0", count: 6 - fraction.count)) else { return nil }
        return dollars * 1_000_000 + decimals
    }

    /// What `tokens` cost, in micro-dollars rounded up: never less than the provider bills. Each
    /// product is tokens × micro-dollars per million, i.e. exact pico-dollars, summed before rounding.
    public func cost(of tokens: TurnTokens) -> Int {
        let cacheWrite = cacheWriteMicrosPerMillion ?? inputMicrosPerMillion
        return Self.micros(ofPicodollars: [(tokens.uncachedInputTokens, inputMicrosPerMillion), (tokens.cachedInputTokens, cachedInputMicrosPerMillion),
                                           (tokens.cacheWriteTokens, cacheWrite), (tokens.outputTokens, outputMicrosPerMillion)])
    }

    /// Σ tokens × price (pico-dollars), rounded up to micro-dollars; counts a provider reports are not
    /// trusted to be small, so the sum saturates instead of overflowing.
    static func micros(ofPicodollars products: [(tokens: Int, price: Int)]) -> Int {
        var total = 0
        for (tokens, price) in products {
            let (product, overflow) = max(0, tokens).multipliedReportingOverflow(by: max(0, price))
            let (sum, overflowed) = total.addingReportingOverflow(product)
            guard !overflow, !overflowed else { return Int.max / 1_000_000 }
            total = sum
        }
        return total / 1_000_000 + (total % 1_000_000 == 0 ? 0 : 1)
    }

    /// The most `inputTokens` prompt tokens and `outputTokens` reply tokens could cost: all prompt
    /// tokens at the dearest prompt price.
    public func worstCase(inputTokens: Int, outputTokens: Int) -> Int {
        let input = max(inputMicrosPerMillion, cacheWriteMicrosPerMillion ?? 0, cachedInputMicrosPerMillion)
        return Self.micros(ofPicodollars: [(inputTokens, input), (outputTokens, outputMicrosPerMillion)])
    }
}

/// The tokens of one call as its provider reported them (or as estimated when it reported none).
public struct TurnTokens: Sendable, Equatable, Codable {
    /// Every prompt token, cached and cache-written ones included.
    public var inputTokens: Int
    public var outputTokens: Int
    /// Of `inputTokens`, those read from the provider's prompt cache.
    public var cachedInputTokens: Int
    /// Of `inputTokens`, those written to the provider's prompt cache (Anthropic).
    public var cacheWriteTokens: Int
    /// Of `outputTokens`, the model's hidden reasoning ("thoughts"), billed as output.
    public var reasoningTokens: Int
    /// True when the provider reported no usage and the counts are characters / 4.
    public var estimated: Bool

    public init(inputTokens: Int = 0, outputTokens: Int = 0, cachedInputTokens: Int = 0, cacheWriteTokens: Int = 0,
                reasoningTokens: Int = 0, estimated: Bool = false) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cachedInputTokens = cachedInputTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.reasoningTokens = reasoningTokens
        self.estimated = estimated
    }

    public var totalTokens: Int { inputTokens + outputTokens }
    /// Prompt tokens billed at the plain input price.
    public var uncachedInputTokens: Int { max(0, inputTokens - cachedInputTokens - cacheWriteTokens) }

    /// The tokenizer-free estimate used when a provider reports nothing: a token per 4 characters.
    public static func estimate(characters: Int) -> Int { (characters + 3) / 4 }
}

/// A price in force from `effectiveFrom` until the next one: past turns keep the cost they had.
public struct PriceChange: Sendable, Equatable, Codable {
    public let modelId: ModelID
    public let prices: TokenPrices
    public let effectiveFrom: Date
    /// Where the figures come from (a provider's price page and date), or who set them.
    public let source: String

    public init(modelId: ModelID, prices: TokenPrices, effectiveFrom: Date, source: String) {
        self.modelId = modelId
        self.prices = prices
        self.effectiveFrom = effectiveFrom
        self.source = source
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isWholeNumber }
}

/// Money as people read it.
public enum Money {
    /// US cents: `299` → "$2.99".
    public static func dollars(_ cents: Int) -> String { String(format: "%@$%d.%02d", cents < 0 ? "-" : "", abs(cents) / 100, abs(cents) % 100) }

    /// Micro-dollars: `1_234_567` → "$1.234567", `1_500_000` → "$1.50", `-20_000` → "-$0.02": cents when exact, else every digit.
    public static func dollars(micros: Int) -> String {
        let sign = micros < 0 ? "-$" : "$"
        let magnitude = micros.magnitude
        let whole = magnitude / 1_000_000, fraction = magnitude % 1_000_000
        var digits = String(fraction)
        digits = String(repeating: "0", count: 6 - digits.count) + digits
        while digits.count > 2, digits.hasSuffix("0") { digits.removeLast() }
        return "\(sign)\(whole).\(digits)"
    }
}
