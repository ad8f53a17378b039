

async def test_after_a_rework_the_unit_answers_again_and_the_proposers_hear_again_once(db) -> None:
    w = await world(db, (MAIN,))
    main = w.contacts[MAIN]
    async with db.session() as session:
        await handling.sign(session, main, w.assignments[MAIN], now=NOW)
        await handling.answer(session, main, w.assignments[MAIN], text="已列入计划，分批实施加装电梯。", category="B",
                              letter=None, now=NOW, rules=RULES, staff_chat=None)
    async with db.session() as session:  # 重办, as the filing part does it: round 2, back to handling
        a = await session.get(ProposalAssignment, w.assignments[MAIN])
        proposal = await session.get(Proposal, w.proposal_id)
        assert a is not None and proposal is not None
        a.round, a.state, a.answer, a.answer_category, a.answered_at = 2, A_SIGNED, None, None, None
        proposal.state, proposal.reworked = ASSIGNED, True
        session.add_all([a, proposal])
    later = NOW + timedelta(days=20)
    async with db.session() as session:
        _, done = await handling.answer(session, main, w.assignments[MAIN], text="电梯已开工建设，年底前投入使用。",
                                        category="A", letter=None, now=later, rules=RULES, staff_chat=None)
        assert done
    lead_rows = [r for r in await outbox(db) if r.chat_id == 1001]
    assert len(lead_rows) == 2 and "开工建设" in lead_rows[1].payload["text"] and "已解决或基本解决" in lead_rows[1].payload["text"]
    async with db.session() as session:
        proposal = await session.get(Proposal, w.proposal_id)
        assert proposal is not None and proposal.state == ANSWERED
