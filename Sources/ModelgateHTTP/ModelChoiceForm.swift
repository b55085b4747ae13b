import ModelgateCore

/// A form that names one model: the default model, a checkout, the admin's system default.
public struct ModelChoiceForm: Decodable {
    public let modelId: String?

    /// The chosen model; blank means "none".
    public var model: ModelID? { Self.model(modelId) }

    /// A form field that names a model; blank or absent means "none".
    public static func model(_ field: String?) -> ModelID? { field.flatMap { $0.isEmpty ? nil : ModelID($0) } }
}
