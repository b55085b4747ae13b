import Foundation
import HTTPTypes
import HummingbirdTesting
import ModelgateAccess
import ModelgateAdmin
import ModelgateBilling
import ModelgateChat
import ModelgateCore
import ModelgateHTTP
import ModelgateKeys
import ModelgateServer
import ModelgateStore
import ModelgateTestSupport
import NIOCore
import Testing

/// The signature the fake Gemini hands out, as the tests expect it back.
public enum WireFormatSignature {
    public static let value = "CiQB0e2Kbw=="
}
