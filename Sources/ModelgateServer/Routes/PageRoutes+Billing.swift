import Hummingbird
import ModelgateCore
import ModelgateHTTP

/// The settings page's plan and credit forms: each starts a Stripe page and redirects to it;
/// a refusal re-renders the settings page with why.
extension PageRoutes {
    func registerBilling(on pages: RouterGroup<AppRequestContext>) {
        pages.post("settings/plan", use: subscribe)
        pages.post("settings/credits", use: buyCredits)
        pages.post("settings/billing-portal", use: openPortal)
    }

    @Sendable func subscribe(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await session.verifiedForm(PlanForm.self, request, context)
        return try await redirectToStripe(context) { profile in
            try await userModels.admitPaidCheckout(for: profile)
            return try await purchases.subscribe(to: PlanID(form.planId), for: profile.id, catalog: userModels.catalog).url
        }
    }

    @Sendable func buyCredits(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        let form = try await session.verifiedForm(PackForm.self, request, context)
        return try await redirectToStripe(context) { profile in
            try await userModels.admitPaidCheckout(for: profile)
            return try await purchases.checkoutPack(form.packId, for: profile.id).url
        }
    }

    @Sendable func openPortal(_ request: Request, _ context: AppRequestContext) async throws -> Response {
        _ = try await session.verifiedForm(NoFields.self, request, context)
        return try await redirectToStripe(context) { profile in try await purchases.portal(for: profile.id) }
    }

    private func redirectToStripe(_ context: AppRequestContext, _ start: (Profile) async throws -> String) async throws -> Response {
        do {
            return Response.redirect(to: try await start(try context.requireIdentity().profile), type: .normal)
        } catch {
            return try await settings(context, notice: .refused(error, catalog: userModels.catalog))
        }
    }
}

struct PlanForm: Decodable {
    let planId: String
}

struct PackForm: Decodable {
    let packId: String
}

struct NoFields: Decodable {}
