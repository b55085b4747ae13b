import Foundation
import ModelgateCore
import Testing

private func instant(_ text: String) -> Date { try! Date(text, strategy: .iso8601) }

@Suite(.timeLimit(.minutes(5))) struct QuotaDayTests {
    @Test func theDayIsTheUsersLocalDateAndResetsAtLocalMidnight() {
        let now = instant("2026-03-10T20:30:00Z")
        let tokyo = QuotaCalendar.day(at: now, zoneIdentifier: "Asia/Tokyo")
        #expect(tokyo.key == "2026-03-11")
        #expect(tokyo.resetAt == instant("2026-03-11T15:00:00Z"))
        let losAngeles = QuotaCalendar.day(at: now, zoneIdentifier: "America/Los_Angeles")
        #expect(losAngeles.key == "2026-03-10")
        #expect(losAngeles.resetAt == instant("2026-03-11T07:00:00Z"))
    }

    @Test func aDSTChangeDayIsTwentyThreeHoursLong() {
        // America/Los_Angeles springs forward on 2026-03-08.
        let day = QuotaCalendar.day(at: instant("2026-03-08T12:00:00Z"), zoneIdentifier: "America/Los_Angeles")
        #expect(day.key == "2026-03-08")
        #expect(day.resetAt == instant("2026-03-09T07:00:00Z"))
        let dayBefore = QuotaCalendar.day(at: instant("2026-03-08T07:59:59Z"), zoneIdentifier: "America/Los_Angeles")
        #expect(dayBefore.key == "2026-03-07" && dayBefore.resetAt == instant("2026-03-08T08:00:00Z"))
        #expect(day.resetAt.timeIntervalSince(dayBefore.resetAt) == 23 * 3600)
    }

    @Test func aNewZoneTakesEffectOnlyAtTheNextMidnightOfTheOldOne() throws {
        let now = instant("2026-03-10T04:00:00Z") // 20:00 on the 9th in Los Angeles
        let zone = try UserTimeZone(current: "America/Los_Angeles").changing(to: "Asia/Tokyo", at: now)
        #expect(zone.day(at: now).key == "2026-03-09")
        #expect(zone.pendingFrom == instant("2026-03-10T07:00:00Z"))
        #expect(zone.day(at: instant("2026-03-10T06:59:59Z")).key == "2026-03-09")
        #expect(zone.day(at: instant("2026-03-10T07:00:00Z")).key == "2026-03-10")
        #expect(zone.effective(at: instant("2026-03-10T07:00:00Z")) == "Asia/Tokyo")
    }

    @Test func aChangeNeverOpensASecondAllowanceInOneInstant() throws {
        // At every hour of a week, switching zone never yields a day key that was not already
        // current for the old zone or later than every key the old zone had handed out.
        var instantToCheck = instant("2026-03-05T00:00:00Z")
        let zones = ["UTC", "Asia/Tokyo", "America/Los_Angeles", "Pacific/Kiritimati", "Pacific/Pago_Pago"]
        while instantToCheck < instant("2026-03-12T00:00:00Z") {
            for from in zones {
                for to in zones {
                    let before = UserTimeZone(current: from).day(at: instantToCheck)
                    let after = try UserTimeZone(current: from).changing(to: to, at: instantToCheck).day(at: instantToCheck)
                    #expect(before == after, "switching \(from)→\(to) at \(instantToCheck) changed the day")
                }
            }
            instantToCheck += 3600
        }
    }

    @Test func anInvalidZoneIsRefused() {
        #expect(throws: ModelgateError.invalidTimeZone("Mars/Olympus")) {
            try UserTimeZone().changing(to: "Mars/Olympus", at: Date(timeIntervalSince1970: 0))
        }
    }
}
