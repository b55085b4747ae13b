import Foundation
import ModelgateCore

/// What a `/v1/chat/completions` call is for, from `X-Modelgate-Purpose`: the end user's message,
/// or a background call (a title, tags) that the key's task model and budget answer.
enum CallPurpose: Equatable {
    case chat
    case task

    /// Open WebUI names its background calls in the `{{TASK}}` placeholder of a connection's
    /// headers (its `TASKS` enum), and leaves it empty on the user's own messages, so a connection
    /// header `X-Modelgate-Purpose: {{TASK}}` tells them apart.
    static let openWebUITasks: Set<String> = [
        "title_generation", "follow_up_generation", "tags_generation", "emoji_generation", "query_generation",
        "image_prompt_generation", "autocomplete_generation", "function_calling", "moa_response_generation",
    ]

    /// `nil`, empty or `chat`: a message; `task` or one of Open WebUI's task names: a background call.
    init(header: String?) throws(ModelgateError) {
        switch header?.trimmingCharacters(in: .whitespaces) {
        case nil, "", "chat": self = .chat
        case "task": self = .task
        case let name? where Self.openWebUITasks.contains(name): self = .task
        case let other?:
            throw ModelgateError.invalidField(field: "X-Modelgate-Purpose",
                                              reason: "'\(other)' is neither chat, task nor one of Open WebUI's task names")
        }
    }
}

extension CallPurpose {
    /// The key whose task model and daily task budget answer this call, when `header` marks it as a
    /// background call; `nil` for the end user's message. Every chat door asks the same.
    static func taskKey(header: String?, key: ApiKey?) throws(ModelgateError) -> ApiKey? {
        guard try CallPurpose(header: header) == .task else { return nil }
        guard let key, key.limits.taskModel != nil else { throw .taskNotConfigured }
        return key
    }
}
