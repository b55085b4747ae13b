import Foundation
import HTTPTypes
import Hummingbird
import ModelgateCore
import ModelgateStore

/// The one place where errors become HTTP problems.
extension Problem {
    public init(_ error: any Error) {
        switch error {
        case let problem as Problem: self = problem
        case let error as ModelgateError: self.init(error)
        case let error as HTTPError: self.init(httpError: error)
        case let error as DecodingError: self.init(decodingError: error)
        case let error as CorruptRow:
            self.init(status: .internalServerError, code: "corrupt_row", title: "A stored row cannot be read",
                      detail: "The database holds a value Modelgate cannot read (column \(error.column)); nothing was guessed. The request id identifies it in our logs.",
                      isUnexpected: true)
        default:
            self.init(status: .internalServerError, code: "internal_error", title: "Internal error",
                      detail: "Something went wrong on our side; the request id identifies it in our logs.", isUnexpected: true)
        }
    }

    public init(_ error: ModelgateError) {
        switch error {
        case .unauthenticated(let reason):
            self.init(status: .unauthorized, code: "unauthenticated", title: "Authentication required", detail: reason,
                      headers: [.wwwAuthenticate: "Bearer"])
        case .forbidden(let reason):
            self.init(status: .forbidden, code: "forbidden", title: "Forbidden", detail: reason)
        case .notFound(let what, let id):
            self.init(status: .notFound, code: "\(what.replacingOccurrences(of: " ", with: "_"))_not_found", title: "Not found",
                      detail: "No \(what) '\(id)'.")
        case .invalidBody(let field, let reason):
            self.init(status: .badRequest, code: "invalid_body", title: "Malformed request body", detail: "\(field): \(reason)",
                      extra: ["field": .string(field)])
        case .unsupportedParameter(let field, let reason):
            self.init(status: .badRequest, code: "unsupported_parameter", title: "Unsupported parameter", detail: "\(field): \(reason)",
                      extra: ["field": .string(field)])
        case .contextTooLong(let model, let estimated, let window):
            self.init(status: .badRequest, code: "context_length_exceeded", title: "Conversation too long",
                      detail: "This conversation needs about \(estimated) tokens with its reply, and '\(model)' holds \(window); shorten it. Nothing was charged.",
                      extra: ["field": .string("messages"), "modelId": .string(model.rawValue), "estimatedTokens": .number(Double(estimated)),
                              "contextWindow": .number(Double(window))])
        case .taskNotConfigured:
            self.init(status: .badRequest, code: "task_not_configured", title: "No task model",
                      detail: "X-Modelgate-Purpose: task needs an API key with a task model and a daily task budget.",
                      extra: ["field": .string("X-Modelgate-Purpose")])
        case .taskBudgetExhausted(let limit, let resetAt, let seconds):
            self.init(status: .tooManyRequests, code: "task_budget_exhausted", title: "Task budget spent",
                      detail: "This key's \(limit) background calls of the day are spent; the budget resets at \(ISO8601.string(resetAt)).",
                      extra: ["limit": .number(Double(limit)), "resetAt": .string(ISO8601.string(resetAt))],
                      headers: [.retryAfter: String(seconds), .shouldRetry: "false"])
        case .endUserRequired:
            self.init(status: .badRequest, code: "end_user_required", title: "End user required",
                      detail: "A service key acts for an end user: name one in X-Modelgate-User or OpenAI's user field.",
                      extra: ["field": .string("user")])
        case .tooManyStreams(let limit):
            self.init(status: .tooManyRequests, code: "too_many_streams", title: "Too many open calls",
                      detail: "This API key (or its end user) may have \(limit) chat calls open at once; nothing was charged.",
                      extra: ["limit": .number(Double(limit))], headers: [.retryAfter: "1", .shouldRetry: "true"])
        case .keyRateLimited(let limit, let seconds):
            self.init(status: .tooManyRequests, code: "key_rate_limited", title: "Key rate limit reached",
                      detail: "This API key may send \(limit) requests a minute; nothing was charged.",
                      extra: ["limit": .number(Double(limit))],
                      headers: [.retryAfter: String(seconds), .shouldRetry: "true"])
        case .userLimitReached(let limit, let allowed, let seconds):
            let (code, what) = switch limit {
            case .requestsPerMinute: ("user_rate_limited", "\(allowed) chat requests a minute")
            case .concurrentStreams: ("user_too_many_streams", "\(allowed) chat calls open at once")
            case .checkoutsPerHour: ("checkout_rate_limited", "\(allowed) checkouts an hour")
            }
            self.init(status: .tooManyRequests, code: code, title: "Too many requests",
                      detail: "Each user may make \(what); nothing was charged. Try again in \(seconds) s.",
                      extra: ["limit": .number(Double(allowed))], headers: [.retryAfter: String(seconds), .shouldRetry: "true"])
        case .promptTooLarge(let bytes, let limit):
            self.init(status: .contentTooLarge, code: "prompt_too_large", title: "Prompt too large",
                      detail: "The messages of one request may hold \(limit) bytes of text in total; this one has \(bytes). Nothing was charged.",
                      extra: ["limit": .number(Double(limit))])
        case .malformedForm(let reason):
            self.init(status: .badRequest, code: "malformed_form", title: "Malformed form",
                      detail: "The form could not be read (\(reason)); reload the page and send it again.")
        case .invalidField(let field, let reason):
            self.init(status: .unprocessableContent, code: "invalid_field", title: "Invalid value", detail: "\(field): \(reason)",
                      extra: ["field": .string(field)])
        case .bodyTooLarge(let limit):
            self.init(status: .contentTooLarge, code: "body_too_large", title: "Request body too large",
                      detail: "The body must be at most \(limit) bytes.")
        case .modelUnavailable(let model):
            self.init(status: .unprocessableContent, code: "model_unavailable", title: "Model unavailable",
                      detail: "The model '\(model)' does not exist or is disabled.", extra: ["modelId": .string(model.rawValue)])
        case .modelKindMismatch(let model, let kind, let expected):
            let serves = expected == .embedding ? "embeddings (POST /v1/embeddings)" : "chat"
            self.init(status: .badRequest, code: "model_kind_mismatch", title: "Wrong kind of model",
                      detail: "'\(model)' is \(kind == .embedding ? "an embedding" : "a chat") model; this request needs a model for \(serves). Nothing was charged.",
                      extra: ["field": .string("model"), "modelId": .string(model.rawValue), "kind": .string(kind.rawValue),
                              "expectedKind": .string(expected.rawValue)])
        case .modelLocked(let model, let price):
            self.init(status: .forbidden, code: "model_locked", title: "Model locked",
                      detail: "The model '\(model)' is premium: purchase it to use it.", extra: Self.priced(model, price))
        case .premiumChoiceLocked(let model, let price):
            self.init(status: .forbidden, code: "model_locked", title: "Model locked",
                      detail: "The model '\(model)' is premium: buy it to make it your default or a coach's model, or try it from the chat.",
                      extra: Self.priced(model, price))
        case .trialExhausted(let model, let price):
            self.init(status: .forbidden, code: "trial_exhausted", title: "Trial used up",
                      detail: "Every trial message of '\(model)' is spent: purchase it to keep using it.", extra: Self.priced(model, price),
                      // Asking again cannot help: only a purchase does.
                      headers: [.shouldRetry: "false"])
        case .rateLimited(let model, let limit, let resetAt, let seconds):
            self.init(status: .tooManyRequests, code: "rate_limited", title: "Daily limit reached",
                      detail: "You have sent \(limit) messages to '\(model)' today; the limit resets at \(ISO8601.string(resetAt)).",
                      extra: ["modelId": .string(model.rawValue), "limit": .number(Double(limit)), "resetAt": .string(ISO8601.string(resetAt))],
                      // The OpenAI and Anthropic SDKs retry a 429 unless told not to; this one lasts until midnight.
                      headers: [.retryAfter: String(seconds), .shouldRetry: "false"])
        case .tokenBudgetExhausted(let model, let budget, let limit, let resetAt, let seconds):
            let spent = budget == .tokens ? "\(limit) tokens on '\(model)'" : "\(Money.dollars(micros: limit)) of model use"
            self.init(status: .tooManyRequests, code: "token_budget_exhausted", title: "Daily budget reached",
                      detail: "Your daily budget of \(spent) is used (calls still streaming count at their longest possible reply); it resets at \(ISO8601.string(resetAt)). Nothing was charged.",
                      extra: ["modelId": .string(model.rawValue), "budget": .string(budget.rawValue), "limit": .number(Double(limit)),
                              "resetAt": .string(ISO8601.string(resetAt))],
                      headers: [.retryAfter: String(seconds), .shouldRetry: "false"])
        case .creditsInsufficient, .planAllowanceExhausted, .planPastDue:
            self.init(paidAccess: error)
        case .unknownPersona(let persona):
            self.init(status: .unprocessableContent, code: "unknown_persona", title: "Unknown persona",
                      detail: "There is no persona '\(persona)'.", extra: ["personaId": .string(persona.rawValue)])
        case .invalidTimeZone(let zone):
            self.init(status: .unprocessableContent, code: "invalid_timezone", title: "Invalid time zone",
                      detail: "'\(zone)' is not an IANA time zone name.", extra: ["field": .string("timezone")])
        case .noModelAvailable:
            self.init(status: .serviceUnavailable, code: "no_model_available", title: "No model available",
                      detail: "Every model of the catalog is disabled.")
        case .conflict(let code, let detail):
            self.init(status: .conflict, code: code, title: "Conflict", detail: detail)
        case .modelNotPurchasable(let model):
            self.init(status: .unprocessableContent, code: "model_not_purchasable", title: "Model not for sale",
                      detail: "'\(model)' is free, disabled or unknown: there is nothing to buy.", extra: ["modelId": .string(model.rawValue)])
        case .paymentsNotConfigured:
            self.init(status: .serviceUnavailable, code: "payments_not_configured", title: "Payments not configured",
                      detail: "Purchases are not available: Stripe is not configured, or the model has no Stripe price yet.")
        case .paymentProviderFailed:
            self.init(status: .badGateway, code: "payment_provider_error", title: "Payment provider failed",
                      detail: "Stripe could not start the checkout; nothing was charged.")
        case .invalidSignature(let reason):
            self.init(status: .badRequest, code: "invalid_signature", title: "Invalid webhook signature", detail: reason)
        case .providerNotConfigured(let provider):
            self.init(status: .serviceUnavailable, code: "provider_not_configured", title: "Provider not configured",
                      detail: "No API key is configured for \(provider.rawValue).", extra: ["provider": .string(provider.rawValue)])
        case .providerFailed(let failure, let provider):
            let status: HTTPResponse.Status = switch failure {
            case .rateLimited: .tooManyRequests
            case .unavailable: .serviceUnavailable
            case .error: .badGateway
            }
            self.init(status: status, code: failure.rawValue, title: "Provider failed",
                      detail: "\(provider.rawValue) could not answer; nothing was charged.", extra: ["provider": .string(provider.rawValue)])
        case .validationFailed(let errors):
            self.init(status: .unprocessableContent, code: "validation_failed", title: "Invalid fields",
                      detail: errors.map { "\($0.field): \($0.message)" }.joined(separator: "; "),
                      extra: ["errors": .array(errors.map { .object(["field": .string($0.field), "message": .string($0.message)]) })])
        case .systemDefaultRequired(let model):
            self.init(status: .conflict, code: "system_default_required", title: "The system default must stay enabled",
                      detail: "'\(model)' is the system default: make another model the default (PUT /api/admin/settings/default-model) before disabling it.",
                      extra: ["modelId": .string(model.rawValue)])
        case .modelSelectionDisabled:
            self.init(status: .serviceUnavailable, code: "model_selection_disabled", title: "Model choice unavailable",
                      detail: "Choosing models and buying them is switched off for now; every coach uses the system default.")
        case .databaseUnavailable:
            self.init(status: .serviceUnavailable, code: "database_unavailable", title: "Database unavailable",
                      detail: "The database cannot be reached, or is too busy to answer now; nothing was charged. Try again shortly.",
                      headers: [.retryAfter: "1", .shouldRetry: "true"])
        case .shuttingDown:
            self.init(status: .serviceUnavailable, code: "shutting_down", title: "Restarting",
                      detail: "This server is restarting; send the message again.", headers: [.retryAfter: "1", .shouldRetry: "true"])
        }
    }

    public init(httpError: HTTPError) {
        let code: String = switch httpError.status {
        case .notFound: "not_found"
        case .methodNotAllowed: "method_not_allowed"
        case .contentTooLarge: "body_too_large"
        case .unsupportedMediaType: "unsupported_media_type"
        case .badRequest: "bad_request"
        default: httpError.status.code >= 500 ? "internal_error" : "http_\(httpError.status.code)"
        }
        self.init(status: httpError.status, code: code, title: httpError.status.reasonPhrase,
                  detail: httpError.body ?? httpError.status.reasonPhrase, headers: httpError.headers, isUnexpected: httpError.status.code >= 500)
    }

    public init(decodingError: DecodingError) {
        let (path, reason): ([any CodingKey], String) = switch decodingError {
        case .keyNotFound(let key, let context): (context.codingPath + [key], "is required")
        case .typeMismatch(let type, let context): (context.codingPath, "must be \(Self.typeName(type))")
        case .valueNotFound(let type, let context): (context.codingPath, "must be \(Self.typeName(type)), not null")
        case .dataCorrupted(let context): (context.codingPath, context.underlyingError == nil ? context.debugDescription : "is not valid JSON")
        @unknown default: ([], "is invalid")
        }
        let field = path.isEmpty ? "body" : path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        self.init(ModelgateError.invalidBody(field: field, reason: reason))
    }

    private static func typeName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        default: "a \(type)".replacingOccurrences(of: "Swift.", with: "")
        }
    }

    private static func priced(_ model: ModelID, _ price: Int?) -> [String: JSONValue] {
        var extra: [String: JSONValue] = ["modelId": .string(model.rawValue)]
        if let price { extra["priceCents"] = .number(Double(price)) }
        return extra
    }
}

