import Foundation

/// What one message on a model costs in credits, as the admin set it: a flat charge per message, or
/// a charge per million prompt and reply tokens (for example the provider's price times a markup).
public enum CreditPrice: Sendable, Equatable, Codable {
    case perMessage(Int)
    case perMillionTokens(input: Int, output: Int)

    /// The most a call with this prompt and reply length can cost: what admission holds.
    public func worstCase(promptTokens: Int, maxOutputTokens: Int) -> Int {
        switch self {
        case .perMessage(let credits): credits
        case .perMillionTokens(let input, let output):
            TokenPrices.micros(ofPicodollars: [(promptTokens, input), (maxOutputTokens, output)])
        }
    }

    /// What a finished call costs, never more than what was held for it.
    public func charge(for tokens: TurnTokens, held: Int) -> Int {
        switch self {
        case .perMessage(let credits): min(credits, held)
        case .perMillionTokens(let input, let output):
            min(held, TokenPrices.micros(ofPicodollars: [(tokens.inputTokens, input), (tokens.outputTokens, output)]))
        }
    }

    /// The charge of a short message (a 1,000-token prompt, a 500-token reply): what a user sees before sending.
    public var typicalMessage: Int {
        switch self {
        case .perMessage(let credits): credits
        case .perMillionTokens(let input, let output): TokenPrices.micros(ofPicodollars: [(1_000, input), (500, output)])
        }
    }

    enum CodingKeys: String, CodingKey { case perMessage, perMillionInputTokens, perMillionOutputTokens }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        if let credits = try container.decodeIfPresent(Int.self, forKey: .perMessage) {
            guard !container.contains(.perMillionInputTokens), !container.contains(.perMillionOutputTokens) else {
                throw DecodingError.dataCorruptedError(forKey: .perMessage, in: container,
                                                       debugDescription: "set either perMessage or the per-million-token prices, not both")
            }
            self = .perMessage(credits)
        } else {
            self = .perMillionTokens(input: try container.decode(Int.self, forKey: .perMillionInputTokens),
                                     output: try container.decode(Int.self, forKey: .perMillionOutputTokens))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .perMessage(let credits): try container.encode(credits, forKey: .perMessage)
        case .perMillionTokens(let input, let output):
            try container.encode(input, forKey: .perMillionInputTokens)
            try container.encode(output, forKey: .perMillionOutputTokens)
        }
    }

    /// The problems of an admin's price; none when every amount is a whole, non-negative number of credits.
    public var problems: [FieldError] {
        switch self {
        case .perMessage(let credits):
            (1...1_000_000_000).contains(credits) ? [] : [FieldError("perMessage", "must be a whole number of credits from 1 to 1,000,000,000")]
        case .perMillionTokens(let input, let output):
            [("perMillionInputTokens", input), ("perMillionOutputTokens", output)].compactMap { field, value in
                value < 0 || value > 1_000_000_000_000 ? FieldError(field, "must be between 0 and 1,000,000,000,000 credits") : nil
            } + (input == 0 && output == 0 ? [FieldError("perMillionOutputTokens", "at least one token price must be greater than 0")] : [])
        }
    }
}

/// Why a wallet's balance moved. Every movement is a ledger row; their sum is the balance.
public enum CreditMovement: String, Sendable, Codable, CaseIterable {
    /// A credit pack bought through Checkout, or through an app store (`store`).
    case purchase, store
    /// Given, or taken back, by an admin.
    case grant, adjustment
    /// A call's worst case held while it streams, given back when it settles.
    case hold, release
    /// What a settled call cost.
    case spend
    /// A refunded pack's credits not yet spent.
    case refund
    /// A lot's credits left when it expired.
    case expiry
}

/// One line of a wallet's ledger.
public struct CreditEntry: Sendable, Equatable, Codable {
    public let id: String
    public let movement: CreditMovement
    /// Credits in (positive) or out (negative).
    public let amount: Int
    /// What the movement belongs to: a call id, a checkout session, a store transaction, an admin's note.
    public let reference: String
    public let at: Date

    public init(id: String, movement: CreditMovement, amount: Int, reference: String, at: Date) {
        self.id = id
        self.movement = movement
        self.amount = amount
        self.reference = reference
        self.at = at
    }
}
