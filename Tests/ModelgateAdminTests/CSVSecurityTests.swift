import ModelgateAccess
import ModelgateAdmin
import ModelgateAppTesting
import ModelgateBilling
import ModelgateChat
import ModelgateHTTP
import ModelgateKeys
import ModelgateStore
import Testing

/// OWASP's CSV injection: a cell an attacker controls (an email claim, a name) must not become a
/// live formula when an admin opens an export in a spreadsheet.
@Suite(.timeLimit(.minutes(5))) struct CSVSecurityTests {
    @Test(arguments: ["=HYPERLINK(\"https://evil.example\",\"x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"])
    func aFormulaInAnExportedCellIsInertInASpreadsheet(_ cell: String) {
        let line = CSV.line(["1", cell])
        #expect(line.hasPrefix("1,") && line.hasSuffix("\r\n"))
        // "\r\n" is one Character in Swift.
        let exported = String(line.dropFirst(2).dropLast())
        let unquoted = exported.hasPrefix("\"") ? String(exported.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"") : exported
        #expect(unquoted == "'" + cell, "\(line)")
    }

    @Test func numbersAndPlainTextAreExportedAsTheyAre() {
        #expect(CSV.line(["-250", "3.5", "ann@example.com", "a,b", ""]) == "-250,3.5,ann@example.com,\"a,b\",\r\n")
    }
}
