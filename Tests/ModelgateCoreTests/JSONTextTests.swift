import Foundation
import ModelgateCore
import Testing

@Suite(.timeLimit(.minutes(5))) struct JSONTextTests {
    @Test func writtenTextParsesBackToTheSameValue() throws {
        let value = JSONValue.object([
            "int": .number(299), "fraction": .number(0.5), "negative": .number(-3), "big": .number(1e20), "flag": .bool(true),
            "nothing": .null, "text": .string("quote \" backslash \\ newline \n tab \t bell \u{07} é 🚀 </script>"),
            "list": .array([.number(1), .string("two"), .object([:])]), "nested": .object(["b": .number(2), "a": .array([])]),
        ])
        let text = value.jsonText
        #expect(try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8)) == value)
        #expect(text.hasPrefix(#"{"big":1e+20,"flag":true,"fraction":0.5,"int":299,"#))
        #expect(JSONValue.object(["b": .number(1), "a": .number(2)]).jsonText == #"{"a":2,"b":1}"#)
    }
}
