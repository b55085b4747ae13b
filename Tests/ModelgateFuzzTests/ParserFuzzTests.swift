import Foundation
import Hummingbird
import ModelgateBilling
import ModelgateCore
@testable import ModelgateProviders
@testable import ModelgateAdmin
@testable import ModelgateChat
@testable import ModelgateHTTP
@testable import ModelgateServer
import NIOCore
import PropertyBased
import Testing

/// Property-based fuzzing of every parser that reads outside input: random inputs, biased towards
/// the characters that give each format its structure. A trap ends the test process, so any crash
/// fails the run; each property also checks what the parser must get right. Inputs are new on every
/// run (a failure prints the seed that reproduces it with `.fixedSeed`).
enum Fuzz {
    /// Iterations per property: bounded so the whole suite runs in seconds.
    static let iterations = ProcessInfo.processInfo.environment["MODELGATE_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 4_000

    /// Byte strings made of `pieces` (a format's structure, as text) and of any byte at all.
    static func bytes(_ pieces: [String], length: ClosedRange<Int>) -> Generator<[UInt8], some SendableSequenceType> {
        let pieceBytes = pieces.map { Array($0.utf8) }
        let structured = pieceBytes.count * 8
        return Gen.int(in: 0...(structured + 255)).array(of: length).map { picks in
            picks.flatMap { pick in pick < structured ? pieceBytes[pick % pieceBytes.count] : [UInt8(pick - structured)] }
        }
    }

    /// Any Unicode text without carriage returns.
    static func text(length: ClosedRange<Int>) -> Generator<String, some SendableSequenceType> {
        Gen.int(in: 0...0x10FFFF).array(of: length).map { codes in
            String(String.UnicodeScalarView(codes.compactMap { Unicode.Scalar($0) }.filter { $0 != "\r" }))
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct PageFormFuzzTests {
    static let pieces = ["=", "&", "%", "%2", "%ZZ", "%FF", "%41", "+", "[", "]", "[]", "[0]", "[99999999999999999999]", "ids",
                         "enabled", "true", "modelId", "_csrf", "priceCents", "metadata", "{", "a", "é", "\u{FFFD}"]

    @Test func anyBodyIsReadOrRefusedWithATypedError() async {
        await propertyCheck(count: Fuzz.iterations, input: Fuzz.bytes(Self.pieces, length: 0...60)) { body in
            do {
                let text = try PageForm.text(of: ByteBuffer(bytes: body))
                _ = try PageForm.decode(AdminModelForm.self, from: text).draft
                _ = try PageForm.decode(BulkForm.self, from: text)
                _ = try PageForm.decode(OverrideForm.self, from: text)
            } catch let error as ModelgateError {
                if case .malformedForm = error {} else { Issue.record("unexpected \(error)") }
            } catch is DecodingError {
                // A field of the wrong shape (e.g. `modelId[]`): a 400 naming the field.
            } catch {
                Issue.record("an error the HTTP layer cannot map: \(error)")
            }
        }
    }

    @Test func anyTextValueSurvivesEncodingAndDecoding() async {
        await propertyCheck(count: Fuzz.iterations, input: Fuzz.text(length: 0...24)) { value in
            let encoded = value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let form = try? PageForm.decode(ModelChoiceForm.self, from: PageForm.text(of: ByteBuffer(string: "_csrf=x&modelId=" + encoded)))
            #expect(form?.modelId == value)
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct ServerSentEventFuzzTests {
    static let pieces = ["\n", "\r", "\r\n", "data:", "data: ", "event:", ": comment", ":", " ", "{\"a\":1}", "[DONE]", "é"]

    @Test func anyByteStreamParsesWithoutTrapping() async {
        await propertyCheck(count: Fuzz.iterations, input: Fuzz.bytes(Self.pieces, length: 0...80), Gen.int(in: 1...16)) { bytes, chunk in
            var parser = ServerSentEventParser()
            var events: [ServerSentEvent] = []
            for start in stride(from: 0, to: bytes.count, by: chunk) {
                events += parser.feed(bytes[start..<min(bytes.count, start + chunk)])
            }
            if let last = parser.finish() { events.append(last) }
            #expect(events.allSatisfy { $0.event?.contains("\n") != true })
        }
    }

    @Test func encodedEventsComeBackWhereverTheStreamIsCut() async {
        let event = Gen.lowercaseLetter.string(of: 1...8).optional
        let input = Gen.int(in: 0...8).array(of: 0...6)
        await propertyCheck(count: Fuzz.iterations, input: event.array(of: 1...4), Fuzz.text(length: 0...12).array(of: 4), input) { names, data, cuts in
            let sent = names.enumerated().map { index, name in ServerSentEvent(event: name, data: data[index % data.count]) }
            let bytes = Array(sent.map(\.encoded).joined().utf8)
            var parser = ServerSentEventParser()
            var received: [ServerSentEvent] = []
            var start = 0
            for cut in cuts + [bytes.count] {
                let end = min(bytes.count, start + cut * 7)
                received += parser.feed(bytes[start..<max(start, end)])
                start = max(start, end)
            }
            received += parser.feed(bytes[start...])
            #expect(received == sent)
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct StripeSignatureFuzzTests {
    static let secret = WebhookSecret("whsec_fuzz")
    static let pieces = ["t=", "v1=", "v0=", ",", "=", " ", "1795000000", "-", "99999999999999999999", "ab", "0"]

    @Test func anyHeaderIsVerifiedOrRefusedWithAReason() async {
        await propertyCheck(count: Fuzz.iterations, input: Fuzz.bytes(Self.pieces, length: 0...40)) { bytes in
            let header = String(decoding: bytes, as: UTF8.self)
            do {
                try WebhookSignature.verify(payload: Data("{}".utf8), header: header, secret: Self.secret, now: Date(timeIntervalSince1970: 1_795_000_000))
                Issue.record("a random header verified: \(header)")
            } catch {
                // Every failure is one of the typed reasons (the throws clause guarantees it).
            }
        }
    }

    @Test func aSignedHeaderVerifiesWhateverOtherFieldsItCarries() async {
        let junk = Fuzz.bytes(["x", "=", " ", "v0=", "a", "9"], length: 0...12).map { "x" + String(decoding: $0, as: UTF8.self).replacingOccurrences(of: ",", with: "") }
        await propertyCheck(count: Fuzz.iterations, input: junk.array(of: 0...3), junk.array(of: 0...3), Fuzz.text(length: 0...40)) { before, after, body in
            let payload = Data(body.utf8)
            let signed = WebhookSignature.header(payload: payload, secret: Self.secret, timestamp: 1_795_000_000)
            let header = (before + [signed] + after).joined(separator: ",")
            #expect(throws: Never.self) {
                try WebhookSignature.verify(payload: payload, header: header, secret: Self.secret, now: Date(timeIntervalSince1970: 1_795_000_100))
            }
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct MarkdownFuzzTests {
    static let pieces = ["<", ">", "&", "\"", "`", "**", "#", "# ", "###### ", "- ", "1. ", "|", "| a | b |", "|---|", "```", "\n", " ",
                         "a", "[x](y.md)", "[x](javascript:alert(1))", "[x](JavaScript:x)", "[", "](", ")", "script", "<script>", "é"]
    /// The tags the renderer itself writes; anything else starting with `<` came from the input unescaped.
    static let ownTagPattern = (#"^</?(h[1-6]( id="[^"<>]*")?|p|ul|ol|li|pre|code|strong|table|thead|tbody|tr|th( scope="col")?|td|div( class="table-scroll")?|a( href="[^"<>]*")?)>"#)

    @Test func anyTextRendersWithOnlyTheRenderersOwnTags() async throws {
        // Unicode scalars, as a browser reads HTML: a combining mark after `>` stays text.
        let ownTag = try Regex(Self.ownTagPattern).matchingSemantics(.unicodeScalar)
        await propertyCheck(count: Fuzz.iterations, input: Fuzz.bytes(Self.pieces, length: 0...80)) { bytes in
            let html = Markdown.html(String(decoding: bytes, as: UTF8.self))
            var rest = Substring(html)
            while let open = rest.unicodeScalars.firstIndex(of: "<") {
                rest = Substring(rest.unicodeScalars[open...])
                guard let match = rest.prefixMatch(of: ownTag) else {
                    Issue.record("unescaped markup: \(rest.prefix(40))")
                    break
                }
                rest = rest[match.range.upperBound...]
            }
            #expect(!html.lowercased().contains("href=\"javascript:"))
        }
    }
}

@Suite(.timeLimit(.minutes(5))) struct HTMLEscapingFuzzTests {
    static let pieces = ["\"", "'", "<", ">", "&", "\u{0300}", "\u{06DD}", "\u{200D}", "a", "é", "&amp;"]

    /// The five entities read back, scalar by scalar.
    static func unescaped(_ html: String) -> [Unicode.Scalar] {
        let entities: [(String, Unicode.Scalar)] = [("&lt;", "<"), ("&gt;", ">"), ("&quot;", "\""), ("&#39;", "'"), ("&amp;", "&")]
        var scalars = Array(html.unicodeScalars)[...]
        var result: [Unicode.Scalar] = []
        while let first = scalars.first {
            if let (entity, scalar) = entities.first(where: { scalars.starts(with: $0.0.unicodeScalars) }) {
                result.append(scalar)
                scalars = scalars.dropFirst(entity.unicodeScalars.count)
            } else {
                result.append(first)
                scalars = scalars.dropFirst()
            }
        }
        return result
    }

    @Test func noMarkupCharacterSurvivesEscapingWhateverFollowsIt() async {
        await propertyCheck(count: Fuzz.iterations, input: Fuzz.bytes(Self.pieces, length: 0...40)) { bytes in
            let text = String(decoding: bytes, as: UTF8.self)
            let escaped = HTMLEscaping.escape(text)
            #expect(!escaped.unicodeScalars.contains { "<>\"'".unicodeScalars.contains($0) })
            #expect(Self.unescaped(escaped).elementsEqual(text.unicodeScalars))
        }
    }

    /// swift-mustache's own escaper works on Characters: a quote joined to a combining mark would
    /// end an attribute value. Every template selects the scalar escaper.
    @Test func everyTemplateEscapesAQuoteFollowedByACombiningMark() async throws {
        let renderer = try await PageRenderer()
        let hostile = "x\"\u{0300} autofocus onfocus=alert(1) y=\"<\u{0300}script>"
        let html = renderer.html("error", ["title": hostile, "detail": hostile, "code": hostile, "status": "400", "requestId": hostile])
        #expect(!html.contains("\"\u{0300}") && !html.contains("<\u{0300}"))
        #expect(html.contains("&quot;\u{0300} autofocus"))
        let templates = try FileManager.default.contentsOfDirectory(atPath: PageRenderer.templateDirectory)
        #expect(templates.count > 10)
        for name in templates {
            let text = try String(contentsOfFile: PageRenderer.templateDirectory + "/" + name, encoding: .utf8)
            #expect(text.hasPrefix("{{% CONTENT_TYPE: HTML}}"), "\(name)")
        }
    }
}
