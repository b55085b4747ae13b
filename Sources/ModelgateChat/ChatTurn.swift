import Foundation
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP
import ModelgateProviders
import ModelgateStore

/// A request to `POST /api/chat`: a message (with images) to a coach, or the app's results for the
/// tools the last reply called; optional tools the app offers, and a reply length.
struct ChatRequest: Decodable, Sendable {
    struct Attachment: Decodable, Sendable {
        /// `data:<type>;base64,…` (stored by Modelgate) or an https URL (stored as a link).
        let url: String
    }

    struct ToolResult: Decodable, Sendable {
        let toolCallId: String
        let content: String
    }

    let message: String?
    let personaId: PersonaID
    let conversationId: String?
    let modelId: ModelID?
    let attachments: [Attachment]?
    let tools: [CompletionRequest.Tool]?
    let toolResults: [ToolResult]?
    let maxTokens: Int?

    static let maxAttachments = 10
    /// The image types a stored attachment may have: served back from our origin, never as HTML or script.
    static let imageTypes: Set<String> = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/heic", "image/heif"]

    /// The new user turn, validated: its text, its images (with the ids they are stored under) and
    /// the tool results it carries.
    func newTurn(makeID: () -> UUID) throws(ModelgateError) -> NewTurn {
        let text = (message ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let results = (toolResults ?? []).map { StoredToolResult(toolCallId: $0.toolCallId, content: $0.content) }
        let images = attachments ?? []
        guard images.count <= Self.maxAttachments else {
            throw .invalidField(field: "attachments", reason: "takes at most \(Self.maxAttachments) images")
        }
        guard !text.isEmpty || !images.isEmpty || !results.isEmpty else { throw .invalidField(field: "message", reason: "must not be empty") }
        guard text.count <= ChatService.maxMessageCharacters else {
            throw .invalidField(field: "message", reason: "must be at most \(ChatService.maxMessageCharacters) characters")
        }
        if !results.isEmpty, conversationId == nil {
            throw .invalidField(field: "toolResults", reason: "answer the tool calls of a conversation: send its conversationId")
        }
        if let maxTokens, !(1...GenerationOptions.maxOutputTokensAllowed).contains(maxTokens) {
            throw .invalidBody(field: "maxTokens", reason: "must be 1 to \(GenerationOptions.maxOutputTokensAllowed)")
        }
        let stored = try images.enumerated().map { (index, attachment) throws(ModelgateError) -> StoredAttachment in
            let image = try CompletionRequest.image(attachment.url, field: "attachments.\(index).url")
            let id = makeID().uuidString.lowercased()
            switch image.source {
            case .base64(let mediaType, _) where !Self.imageTypes.contains(mediaType):
                throw .invalidField(field: "attachments.\(index).url", reason: "\(mediaType) is not an image type Modelgate stores")
            case .base64(let mediaType, let data) where Data(base64Encoded: data) == nil:
                throw .invalidBody(field: "attachments.\(index).url", reason: "the \(mediaType) data is not valid base64")
            default: break
            }
            return switch image.source {
            case .base64(let mediaType, let data): StoredAttachment(id: id, mediaType: mediaType, data: data, url: nil)
            case .url(let url): StoredAttachment(id: id, mediaType: ImageInput.mediaType(ofURL: url) ?? "image/*", data: nil, url: url)
            }
        }
        return NewTurn(text: text, attachments: stored, toolResults: results)
    }
}

/// The user's side of an exchange, as it is stored and as providers see it.
struct NewTurn: Sendable {
    let text: String
    let attachments: [StoredAttachment]
    let toolResults: [StoredToolResult]

    /// The tool results (one `tool` message each), then the text and images, if any.
    var messages: [ChatMessage] {
        ChatTurns.messages(text: text, images: attachments, toolResults: toolResults)
    }
}

/// Stored turns as provider messages, images loaded from their attachments.
enum ChatTurns {
    static func messages(text: String, images: [StoredAttachment], toolResults: [StoredToolResult]) -> [ChatMessage] {
        var messages = toolResults.map { ChatMessage(role: .tool, parts: [.text($0.content)], toolCallID: $0.toolCallId) }
        let parts: [ContentPart] = (text.isEmpty ? [] : [.text(text)]) + images.map { .image(input($0)) }
        if !parts.isEmpty { messages.append(ChatMessage(role: .user, parts: parts)) }
        return messages
    }

    /// History for the provider. It starts at a plain user turn: a window that begins with a reply, or
    /// with tool results whose calls fell out of it, would be refused by the providers.
    static func replay(_ stored: [StoredMessage], images: [StoredAttachment]) -> [ChatMessage] {
        let byID = Dictionary(images.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        let start = stored.firstIndex { $0.role == .user && $0.toolResults.isEmpty } ?? stored.endIndex
        return stored[start...].flatMap { message -> [ChatMessage] in
            if message.role == .user {
                return messages(text: message.content, images: message.attachmentIDs.compactMap { byID[$0] }, toolResults: message.toolResults)
            }
            return [ChatMessage(role: .assistant, parts: message.content.isEmpty ? [] : [.text(message.content)], toolCalls: message.toolCalls)]
        }
    }

    static func input(_ attachment: StoredAttachment) -> ImageInput {
        if let data = attachment.data { return ImageInput(source: .base64(mediaType: attachment.mediaType, data: data)) }
        return ImageInput(source: .url(attachment.url ?? ""))
    }
}
