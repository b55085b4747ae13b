import Foundation
import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateHTTP
import ModelgateKeys
import Testing

@Suite(.timeLimit(.minutes(5))) struct WebhookSignatureTests {
    let secret = WebhookSecret("whsec_test_secret")
    let payload = Data(#"{"id":"evt_test","object":"event"}"#.utf8)
    let signedAt = Date(timeIntervalSince1970: 1_732_406_400)

    @Test func matchesStripesPublishedVector() throws {
        #expect(WebhookSignature.header(payload: payload, secret: secret, timestamp: 1_732_406_400)
            == "t=1732406400,v1=bc39077ddc3549d93876eea9b4e27abf96bd17824d4138def9a965010081c321")
    }

    @Test func anyOfSeveralV1ValuesMayMatch() throws {
        let header = "t=1732406400,v1=deadbeef,v0=ignored,v1=bc39077ddc3549d93876eea9b4e27abf96bd17824d4138def9a965010081c321"
        try WebhookSignature.verify(payload: payload, header: header, secret: secret, now: signedAt.addingTimeInterval(299))
    }

    @Test func refusesWhatStripeRefuses() {
        let good = WebhookSignature.header(payload: payload, secret: secret, timestamp: 1_732_406_400)
        #expect(throws: WebhookSignature.Failure.tooOld) {
            try WebhookSignature.verify(payload: payload, header: good, secret: secret, now: signedAt.addingTimeInterval(301))
        }
        #expect(throws: WebhookSignature.Failure.noMatch) {
            try WebhookSignature.verify(payload: Data(#"{"id":"evt_test","object":"event" }"#.utf8), header: good, secret: secret, now: signedAt)
        }
        #expect(throws: WebhookSignature.Failure.malformedHeader) {
            try WebhookSignature.verify(payload: payload, header: "v1=abc", secret: secret, now: signedAt)
        }
        #expect(throws: WebhookSignature.Failure.missingHeader) {
            try WebhookSignature.verify(payload: payload, header: nil, secret: secret, now: signedAt)
        }
    }
}
