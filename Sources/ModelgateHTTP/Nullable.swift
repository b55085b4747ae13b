/// An optional that encodes as JSON `null` instead of being left out, for fields whose absence
/// would be ambiguous to clients (`defaultModelId: null` means "none chosen").
public struct Nullable<Wrapped: Encodable & Sendable>: Encodable, Sendable {
    public let value: Wrapped?

    public init(_ value: Wrapped?) { self.value = value }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        if let value { try container.encode(value) } else { try container.encodeNil() }
    }
}
