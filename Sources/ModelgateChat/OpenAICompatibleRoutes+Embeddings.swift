import Foundation
import Hummingbird
import ModelgateAccess
import ModelgateCore
import ModelgateHTTP
import ModelgateProviders

/// OpenAI's embeddings API over the same identity, access decision, budgets and settlement as
/// `/v1/chat/completions`. `model` must name an embedding model: there is no `auto`.
extension OpenAICompatibleRoutes {
    @Sendable func embeddings(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let profile = try context.requireIdentity().profile
        let body = try await request.decodeJSON(EmbeddingsRequest.self, limit: maxBodyBytes)
        if try CallPurpose(header: request.headers[Self.purposeHeader]) == .task {
            throw ModelgateError.unsupportedParameter(field: "X-Modelgate-Purpose", reason: "an embedding call is never a background task")
        }
        let format = try body.encodingFormat
        let call = try body.embeddingRequest()
        guard body.model != "auto" else { throw ModelgateError.invalidBody(field: "model", reason: "must name an embedding model (auto picks chat models)") }
        let model = try Self.model(named: body.model, in: userModels.catalog)
        let reply = try await chat.embed(call, model: model, for: profile)
        // The vectors are the caller's however settling goes; a failure to settle is logged (and retried
        // while the database is unavailable).
        _ = await recorder.record(reply, user: profile.id)
        return EmbeddingsWriter(format: format).response(reply)
    }
}

/// OpenAI's `{"object": "list", "data": [...], "model", "usage"}`, written as text: 2,048 vectors of
/// 3,072 numbers need no intermediate tree (each float is written in its shortest exact form).
struct EmbeddingsWriter: Sendable {
    let format: EmbeddingsRequest.EncodingFormat

    func response(_ reply: EmbeddingReply) -> Response {
        var text = #"{"object":"list","data":["#
        for (index, vector) in reply.embeddings.vectors.enumerated() {
            if index > 0 { text += "," }
            text += #"{"object":"embedding","index":\#(index),"embedding":\#(encoded(vector))}"#
        }
        let tokens = reply.tokens
        // Modelgate's own, as on chat completions: the provider cost in micro-dollars, and whether the
        // provider reported no usage (the count is then a token per 4 characters).
        text += #"],"model":"\#(reply.admission.choice.model.id.rawValue)","usage":{"prompt_tokens":\#(tokens.inputTokens),"#
            + #""total_tokens":\#(tokens.inputTokens),"cost_micros":\#(reply.costMicros),"estimated":\#(tokens.estimated)}}"#
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// A JSON array of numbers, or the standard base64 of the little-endian float32 bytes as a JSON string.
    func encoded(_ vector: [Float]) -> String {
        switch format {
        case .float:
            return "[" + vector.map { "\($0)" }.joined(separator: ",") + "]"
        case .base64:
            var bytes: [UInt8] = []
            bytes.reserveCapacity(vector.count * 4)
            for value in vector { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
            return "\"" + Data(bytes).base64EncodedString() + "\""
        }
    }
}
