import ModelgateCore

/// A form that names one model: the default model, a checkout, the admin's system default.
public struct ModelChoiceForm: Decodable {
    public let modelId: String?

    /// The chosen model; blank means "none".
    public var model: ModelID? { modelId.flatMap { $0.isEmpty ? nil : ModelID($0) } }
}
