// swift-tools-version:6.1
import PackageDescription

/// A feature module's dependencies: Core, the Store engine, the shared web layer, metrics, and `more`.
func feature(_ more: [Target.Dependency]) -> [Target.Dependency] {
    ["ModelgateCore", "ModelgateStore", "ModelgateHTTP", "ModelgateMetrics", .product(name: "SQLKit", package: "sql-kit"),
     .product(name: "Hummingbird", package: "hummingbird")] + more
}

/// A test target that runs Modelgate: the app-testing library, the fakes, and `more`.
func appTests(_ more: [Target.Dependency]) -> [Target.Dependency] {
    ["ModelgateAppTesting", "ModelgateTestSupport", "ModelgateServer", "ModelgateCore", "ModelgateStore", "ModelgateHTTP",
     "ModelgateBilling", "ModelgateAnalytics", "ModelgateMetrics", "ModelgateProviders",
     .product(name: "HummingbirdTesting", package: "hummingbird"),
     "ModelgateAccess", "ModelgateChat", "ModelgateKeys", "ModelgateAdmin",
     .product(name: "AsyncHTTPClient", package: "async-http-client")] + more
}

let package = Package(
    name: "modelgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "modelgate", targets: ["modelgate"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        .target(name: "ModelgateCore"),
        .target(
            name: "ModelgateStore",
            dependencies: [
                "ModelgateCore",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "ModelgateMetrics",
            dependencies: ["ModelgateCore", .product(name: "Prometheus", package: "swift-prometheus")]
        ),
        .target(
            name: "ModelgateAnalytics",
            dependencies: [
                "ModelgateCore",
                "ModelgateStore",
                "ModelgateMetrics",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ModelgateProviders",
            dependencies: [
                "ModelgateCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        // The web layer every feature shares: request context, problem+json, bodies and queries, pages.
        .target(
            name: "ModelgateHTTP",
            dependencies: [
                "ModelgateCore",
                "ModelgateStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [.copy("Resources/templates"), .copy("Resources/static")]
        ),
        // Features: each owns its routes, service, pages and SQL.
        .target(
            name: "ModelgateAccess",
            dependencies: feature(["ModelgateProviders"])
        ),
        .target(
            name: "ModelgateKeys",
            dependencies: feature([.product(name: "Crypto", package: "swift-crypto")])
        ),
        .target(
            name: "ModelgateChat",
            dependencies: feature([
                "ModelgateAccess", "ModelgateProviders",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ])
        ),
        .target(
            name: "ModelgateBilling",
            dependencies: feature([
                "ModelgateAccess",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ])
        ),
        .target(
            name: "ModelgateAdmin",
            dependencies: feature(["ModelgateAccess", "ModelgateBilling", "ModelgateKeys", "ModelgateChat", .product(name: "Mustache", package: "swift-mustache")])
        ),
        .target(
            name: "ModelgateServer",
            dependencies: [
                "ModelgateCore",
                "ModelgateStore",
                "ModelgateHTTP",
                "ModelgateAccess",
                "ModelgateKeys",
                "ModelgateChat",
                "ModelgateAdmin",
                "ModelgateProviders",
                "ModelgateBilling",
                "ModelgateAnalytics",
                "ModelgateMetrics",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            resources: [.copy("Resources/openapi.yaml"), .copy("Resources/docs")]
        ),
        .target(
            name: "ModelgateCLI",
            dependencies: [
                "ModelgateServer",
                "ModelgateHTTP",
                "ModelgateKeys",
                "ModelgateAdmin",
                "ModelgateProviders",
                "ModelgateBilling",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .target(
            name: "ModelgateTestSupport",
            dependencies: [
                "ModelgateStore",
                "ModelgateBilling",
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // A running Modelgate for tests (its database, clock, fakes and clients), shared by every feature's tests;
        // test code, so it lives under Tests/.
        .target(
            name: "ModelgateAppTesting",
            dependencies: [
                "ModelgateServer",
                "ModelgateHTTP",
                "ModelgateAccess",
                "ModelgateChat",
                "ModelgateKeys",
                "ModelgateBilling",
                "ModelgateAdmin",
                "ModelgateAnalytics",
                "ModelgateMetrics",
                "ModelgateProviders",
                "ModelgateTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Tests/ModelgateAppTesting"
        ),
        .executableTarget(name: "modelgate", dependencies: ["ModelgateCLI"]),
        .executableTarget(
            name: "modelgate-bench",
            dependencies: [
                "ModelgateServer",
                "ModelgateAccess",
                "ModelgateMetrics",
                "ModelgateTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/ModelgateBench"
        ),
        .testTarget(name: "ModelgateCoreTests", dependencies: ["ModelgateCore"]),
        .testTarget(
            name: "ModelgateFuzzTests",
            dependencies: [
                "ModelgateServer",
                "ModelgateHTTP",
                "ModelgateChat",
                "ModelgateAdmin",
                "ModelgateProviders",
                "ModelgateBilling",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "ModelgateStoreTests",
            dependencies: ["ModelgateStore", "ModelgateTestSupport"]
        ),
        .testTarget(name: "ModelgateServerTests", dependencies: appTests(["ModelgateCLI"])),
        .testTarget(name: "ModelgateAccessTests", dependencies: appTests([])),
        .testTarget(name: "ModelgateChatTests", dependencies: appTests([])),
        .testTarget(name: "ModelgateKeysTests", dependencies: appTests([])),
        .testTarget(name: "ModelgateBillingTests", dependencies: appTests([])),
        .testTarget(name: "ModelgateAdminTests", dependencies: appTests([])),
    ],
    swiftLanguageModes: [.v6]
)
