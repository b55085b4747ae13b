import Foundation
import Hummingbird
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP
import ModelgateProviders

/// OpenAI's Responses API over the same request path as `/v1/chat/completions`: the same identity,
/// access decision, budgets, failover and settlement; only the shapes differ.
extension OpenAICompatibleRoutes {
    @Sendable func responses(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let profile = try context.requireIdentity().profile
        let body = try await request.decodeJSON(ResponsesRequest.self, limit: maxBodyBytes)
        let call = try body.providerRequest()
        let explicit = try Self.model(named: body.model, in: userModels.catalog)
        let persona = request.headers[Self.personaHeader].map(PersonaID.init(rawValue:))
        let failover = try Self.failover(request.headers[Self.failoverHeader], models: nil, catalog: userModels.catalog)
        let reply = try await chat.complete(call, persona: persona, explicit: explicit, failover: failover, for: profile)
        let writer = ResponsesWriter(id: "resp_" + context.id.filter { $0.isLetter || $0.isNumber }, created: Int(clock.now().timeIntervalSince1970),
                                     model: reply.admission.choice.model.id.rawValue, request: body,
                                     settle: { [recorder] in _ = await recorder.record(reply, user: profile.id) })
        var response = body.stream == true ? writer.streaming(reply, shutdown: chat.shutdown) : try await writer.whole(reply)
        if let from = reply.admission.failoverFrom { response.headers[Self.failoverFromHeader] = from.rawValue }
        return response
    }
}
