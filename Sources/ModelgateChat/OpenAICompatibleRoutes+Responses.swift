import Foundation
import Hummingbird
import Logging
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP
import ModelgateProviders

/// OpenAI's Responses API over the same request path as `/v1/chat/completions`: the same identity,
/// access decision, budgets, failover and settlement; only the shapes differ. Answers are stored
/// unless the request says `store: false`, for the caller alone (the user, or a service key's end
/// user), until the retention is over.
extension OpenAICompatibleRoutes {
    @Sendable func responses(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let profile = try context.requireIdentity().profile
        let body = try await request.decodeJSON(ResponsesRequest.self, limit: maxBodyBytes)
        let history = try await conversation(before: body.previous_response_id, for: profile.id)
        let call = try body.providerRequest(continuing: history)
        let explicit = try Self.model(named: body.model, in: userModels.catalog)
        let persona = request.headers[Self.personaHeader].map(PersonaID.init(rawValue:))
        let failover = try Self.failover(request.headers[Self.failoverHeader], models: nil, catalog: userModels.catalog)
        let task = try CallPurpose.taskKey(header: request.headers[Self.purposeHeader], key: context.apiKey)
        let reply = try await chat.complete(call, persona: persona, explicit: explicit, task: task, failover: failover, for: profile)
        let id = "resp_" + context.id.filter { $0.isLetter || $0.isNumber }
        let model = reply.admission.choice.model.id
        let keep = body.storesAnswer
            ? keeper(id: id, owner: profile.id, model: model, input: history + body.inputItems, logger: context.logger) : nil
        let writer = ResponsesWriter(id: id, created: Int(clock.now().timeIntervalSince1970), model: model.rawValue, request: body,
                                     settle: SettleOnce { [recorder] in _ = await recorder.record(reply, user: profile.id) }, keep: keep)
        var response = body.stream == true ? writer.streaming(reply, shutdown: chat.shutdown) : try await writer.whole(reply)
        if let from = reply.admission.failoverFrom { response.headers[Self.failoverFromHeader] = from.rawValue }
        return response
    }

    /// `GET /v1/responses/{id}`: the stored Response object, as it was answered.
    @Sendable func storedResponse(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let profile = try context.requireIdentity().profile
        let id = try context.parameters.require("id")
        if try Query(request).bool("stream") == true {
            throw ModelgateError.unsupportedParameter(field: "stream", reason: "stored responses are not replayed as events")
        }
        guard let object = try await storedResponses.object(id, ownedBy: profile.id, at: clock.now()) else {
            throw ModelgateError.notFound(what: "response", id: id)
        }
        return try JSONBody(object).response()
    }

    /// `DELETE /v1/responses/{id}`: OpenAI's deletion answer.
    @Sendable func deleteStoredResponse(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let profile = try context.requireIdentity().profile
        let id = try context.parameters.require("id")
        guard try await storedResponses.delete(id, ownedBy: profile.id, at: clock.now()) else {
            throw ModelgateError.notFound(what: "response", id: id)
        }
        return try JSONBody(JSONValue.object(["id": .string(id), "object": .string("response"), "deleted": .bool(true)])).response()
    }

    /// The stored conversation a `previous_response_id` continues; another caller's response, or an
    /// expired one, is as unknown as one that never was.
    private func conversation(before id: String?, for user: UserID) async throws -> [ResponsesRequest.Item] {
        guard let id else { return [] }
        guard let items = try await storedResponses.conversation(through: id, ownedBy: user, at: clock.now()) else {
            throw ModelgateError.notFound(what: "response", id: id)
        }
        return items
    }

    /// Stores a finished answer with the whole conversation it replied to. A failure is logged and
    /// the answer says `store: false`: a delivered reply is never cut for it.
    private func keeper(id: String, owner: UserID, model: ModelID, input: [ResponsesRequest.Item], logger: Logger) -> ResponsesWriter.Keep {
        { [storedResponses, clock] status, output, object in
            do {
                let response = StoredResponse(id: id, owner: owner, model: model, status: status, input: input, output: output, object: object)
                try await storedResponses.save(response, at: clock.now())
                return true
            } catch {
                logger.error("response not stored", metadata: ["error": "\(String(reflecting: error))", "response": "\(id)"])
                return false
            }
        }
    }
}
